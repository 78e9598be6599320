// DPO and ORPO on the GPU engine against their float64 reference (preference-reference.ts): the
// loss, TRL's metrics and every LoRA gradient of a tiny random Llama, with pairs split over
// accumulated micro-batches; DPO's loss at the start (policy = reference) is ln 2.
import { describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { LoraTrainer } from './trainer';
import { defaultOptimConfig } from '../engine/optim/config';
import type { PreferenceObjective } from '../engine/gpu/kernels/preference';
import { randomLora, randomWeights, tinyConfig } from '../engine/model/tiny-random.testutil';
import { flatToRefKeys, gpuLora, gpuModel } from '../engine/model/gpu-model.testutil';
import { expectNoGpuError, getTestContext } from '../../test/gpu-device';
import { expectClose } from '../../test/numeric';
import { completionLogp, referenceDpo, referenceOrpo } from './preference-reference';
import { pairBatches, randomPair } from './preference.testutil';

const ownGpu = create(['backend=vulkan']);
void ownGpu;

const cfg = tinyConfig({ tieWordEmbeddings: false, numLayers: 2 });
const weights = randomWeights(cfg, 71);
const T = 9;
const pairs = [
  randomPair(cfg, 1, 3, [3, 2], 0),
  randomPair(cfg, 2, 2, [2, 4], 1),
  randomPair(cfg, 3, 4, [4, 4], 2),
  randomPair(cfg, 4, 1, [5, 3], 3),
];

/** One optimizer step of `objective` on the GPU (lr tiny: we read the gradients it computed). */
async function gpuStep(objective: PreferenceObjective, lora: ReturnType<typeof randomLora>, pairsPerBatch: number, fallback = false) {
  const ctx = await getTestContext({ fallback });
  const batches = pairBatches(pairs, pairsPerBatch, T);
  const optim = defaultOptimConfig({ schedule: { kind: 'constant', lr: 1e-9, warmupSteps: 0, totalSteps: 1 }, maxGradNorm: 0, gradAccumSteps: batches.length });
  return expectNoGpuError(ctx, async () => {
    const model = await gpuModel(ctx, cfg, weights);
    const lp = gpuLora(ctx, cfg, lora, 2);
    const tr = new LoraTrainer(ctx, model, lp, optim, { B: 2 * pairsPerBatch, T, seed: 3, objective });
    const refs = [];
    for (const b of batches) refs.push((await tr.evalPreference(b, { loraScale: 0 })).logps);
    const policy = [];
    for (const b of batches) policy.push((await tr.evalPreference(b, { refLogps: refs[policy.length] })).logps);
    const r = await tr.step(batches, refs);
    const grads = flatToRefKeys(lp, await lp.readFlat('grads'));
    tr.destroy();
    return { r, grads, refs, policy };
  });
}

describe('preference objectives on the GPU vs float64', () => {
  it('DPO at the start (B = 0: policy = reference) has loss ln 2 to f32 precision, zero rewards', async () => {
    const lora = randomLora(cfg, 2, 5, { zeroB: true, scaling: 2 });
    const { r, refs, policy } = await gpuStep({ kind: 'dpo', beta: 0.1, labelSmoothing: 0 }, lora, 2);
    expect(Math.abs(r.loss - Math.LN2)).toBeLessThanOrEqual(2 ** -23 * Math.LN2 * 2);
    expect(policy.map((p) => [...p])).toEqual(refs.map((p) => [...p])); // the adapter adds exactly 0
    expect(r.preference!['rewards/margins']).toBe(0);
    expect(r.preference!['rewards/accuracies']).toBe(0);
  });

  for (const [pairsPerBatch, fallback] of [[2, false], [1, true]] as const) {
    for (const opts of [{ beta: 0.1, labelSmoothing: 0 }, { beta: 0.5, labelSmoothing: 0.2 }]) {
      it(`DPO ${JSON.stringify(opts)}, ${4 / pairsPerBatch} micro-batches (fallback=${fallback}): log-probs, loss, metrics and every LoRA gradient`, async () => {
        const lora = randomLora(cfg, 2, 7, { magnitude: 2, scaling: 2 });
        const want = referenceDpo(cfg, weights, lora, pairs, opts);
        const got = await gpuStep({ kind: 'dpo', ...opts }, lora, pairsPerBatch, fallback);
        // Sequence log-probs: the base's (adapter off) and the policy's, rows (chosen, rejected) per pair.
        const flat = (a: Float32Array[]) => a.flatMap((x) => [...x]);
        expectClose(flat(got.refs), pairs.flatMap((p) => [completionLogp(cfg, weights, null, p.chosen), completionLogp(cfg, weights, null, p.rejected)]), 1e-4, 1e-5, 'reference logps');
        expectClose(flat(got.policy), pairs.flatMap((p) => [completionLogp(cfg, weights, lora, p.chosen), completionLogp(cfg, weights, lora, p.rejected)]), 1e-4, 1e-5, 'policy logps');
        expect(Math.abs(want.loss - Math.LN2)).toBeGreaterThan(1e-3);
        expectClose([got.r.loss], [want.loss], 1e-5, 1e-4, 'loss');
        const m = got.r.preference!;
        for (const k of Object.keys(want.metrics) as (keyof typeof want.metrics)[]) expectClose([m[k]], [want.metrics[k]], 1e-4, 1e-4, k);
        // f32 forward/backward vs f64: gradients agree to ~1e-4 of their scale.
        for (const [k, g] of want.grads) {
          const scale = Math.max(...g.map(Math.abs));
          expect(scale, `${k} gradient is all zero`).toBeGreaterThan(1e-7);
          expectClose(got.grads.get(k)!, g, 1e-3 * scale, 1e-3, `d${k}`);
        }
      });
    }
  }

  for (const pairsPerBatch of [4, 2]) {
    it(`ORPO λ = 0.5, ${4 / pairsPerBatch} micro-batches: loss (NLL + odds ratio), metrics and every LoRA gradient`, async () => {
      const lora = randomLora(cfg, 2, 8, { magnitude: 2, scaling: 2 });
      const want = referenceOrpo(cfg, weights, lora, pairs, { lambda: 0.5 });
      const got = await gpuStep({ kind: 'orpo', lambda: 0.5 }, lora, pairsPerBatch);
      expectClose([got.r.loss], [want.loss], 1e-5, 1e-4, 'loss');
      const m = got.r.preference!;
      for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies', 'logps/chosen', 'logps/rejected'] as const) expectClose([m[k]], [want.metrics[k]], 1e-4, 1e-4, k);
      for (const [k, g] of want.grads) {
        const scale = Math.max(...g.map(Math.abs));
        expect(scale, `${k} gradient is all zero`).toBeGreaterThan(1e-7);
        expectClose(got.grads.get(k)!, g, 1e-3 * scale, 1e-3, `d${k}`);
      }
    });
  }
});
