import { describe, expect, it } from 'vitest';
import { Generator } from './generate';
import { LoraParams } from './lora-params';
import type { LinearModule } from './config';
import type { TokenBatch } from './llama';
import { referenceForward } from '../reference/model';
import { sampleTopKTopP as refSample } from '../reference/sample';
import { Rng } from '../optim/rng';
import { defaultOptimConfig } from '../optim/config';
import { LoraTrainer } from '../../train/trainer';
import { randomLora, randomWeights, tinyConfig, tinyGemmaShape } from './tiny-random.testutil';
import { gpuLora, gpuModel } from './gpu-model.testutil';
import { expectNoGpuError, getTestContext } from '../../../test/gpu-device';
import { expectClose } from '../../../test/numeric';

/** Float64 greedy continuation by re-running the reference on the growing sequence. */
function refGreedy(cfg: ReturnType<typeof tinyConfig>, weights: Map<string, Float64Array>, lora: Parameters<typeof referenceForward>[2], prompt: number[], n: number): number[] {
  const seq = [...prompt];
  const V = cfg.vocabSize;
  for (let i = 0; i < n; i++) {
    const T = seq.length;
    const { logits } = referenceForward(cfg, weights, lora, { B: 1, T, inputIds: seq, targets: new Array(T).fill(-100), positions: seq.map((_, j) => j), segmentIds: new Array(T).fill(0) });
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[(T - 1) * V + v] > logits[(T - 1) * V + best]) best = v;
    seq.push(best);
  }
  return seq.slice(prompt.length);
}

function refLastLogits(cfg: ReturnType<typeof tinyConfig>, weights: Map<string, Float64Array>, lora: Parameters<typeof referenceForward>[2], seq: number[]): Float64Array {
  const T = seq.length;
  const V = cfg.vocabSize;
  const { logits } = referenceForward(cfg, weights, lora, { B: 1, T, inputIds: seq, targets: new Array(T).fill(-100), positions: seq.map((_, j) => j), segmentIds: new Array(T).fill(0) });
  return logits.slice((T - 1) * V);
}

describe('generation with a KV cache', () => {
  const archs = [
    ['qwen2 biases, untied', { tieWordEmbeddings: false, attentionBias: true }],
    ['qwen3 q/k norms, head_dim 6 ≠ C/H, tied', { qkNorm: true, headDim: 6 }],
    // Decoding past the local layers' window (2 keys) exercises the windowed decode kernel.
    // Embedding scale 0.5, not √C = 4: at C = 16 the scaled embedding dominates the residual
    // stream and a tiny random gemma just repeats its last token, adapter or not.
    ['gemma3 local (window 2) + global layers, tied', tinyGemmaShape({}, { embedScale: 0.5 })],
  ] as const;
  for (const fallback of [false, true]) for (const [arch, shape] of archs) {
    it(`${arch}: prefill logits, adapter scale and greedy decoding match the float64 reference (fallback=${fallback})`, async () => {
      const ctx = await getTestContext({ fallback });
      const cfg = tinyConfig(shape);
      const weights = randomWeights(cfg, 701, 2.5);
      const lora = randomLora(cfg, 3, 702, { magnitude: 1.5 });
      const prompt = [5, 17, 3, 22, 9];
      const half = { scaling: lora.scaling * 0.5, weights: lora.weights };
      const got = await expectNoGpuError(ctx, async () => {
        const model = await gpuModel(ctx, cfg, weights);
        const gen = new Generator(model, gpuLora(ctx, cfg, lora, 3), 16);
        return {
          on: await gen.promptLogits(prompt, 1),
          off: await gen.promptLogits(prompt, 0),
          half: await gen.promptLogits(prompt, 0.5),
          greedy: await gen.generate(prompt, { maxNewTokens: 8, stopTokens: [] }),
          greedyOff: await gen.generate(prompt, { maxNewTokens: 8, stopTokens: [], loraScale: 0 }),
        };
      });
      // f32 vs f64 logits of a 2-layer C=16 model: ~1e-6; 1e-4 leaves margin.
      expectClose(got.on, refLastLogits(cfg, weights, lora, prompt), 1e-4, 1e-4, 'prefill logits, adapter on');
      expectClose(got.off, refLastLogits(cfg, weights, null, prompt), 1e-4, 1e-4, 'prefill logits, adapter off');
      expectClose(got.half, refLastLogits(cfg, weights, half, prompt), 1e-4, 1e-4, 'prefill logits, adapter ×0.5');
      expect(got.greedy.tokens).toEqual(refGreedy(cfg, weights, lora, prompt, 8));
      expect(got.greedy.stopReason).toBe('max-tokens');
      expect(got.greedyOff.tokens).toEqual(refGreedy(cfg, weights, null, prompt, 8));
      expect(got.greedyOff.tokens).not.toEqual(got.greedy.tokens);
    });
  }

  it('stop tokens, context limit, callback stop; seeded sampling is reproducible and matches the reference sampler', async () => {
    const ctx = await getTestContext();
    const cfg = tinyConfig();
    const weights = randomWeights(cfg, 801, 2.5);
    const prompt = [1, 2, 3];
    const out = await expectNoGpuError(ctx, async () => {
      const model = await gpuModel(ctx, cfg, weights);
      const gen = new Generator(model, null, 8);
      const greedy = await gen.generate(prompt, { maxNewTokens: 20, stopTokens: [] });
      const stopAt = greedy.tokens[2];
      const stopped = await gen.generate(prompt, { maxNewTokens: 20, stopTokens: [stopAt] });
      const seen: number[] = [];
      const cb = await gen.generate(prompt, { maxNewTokens: 20, stopTokens: [], onToken: (t) => (seen.push(t), seen.length < 2) });
      const s1 = await gen.generate(prompt, { maxNewTokens: 4, stopTokens: [], temperature: 1.3, topK: 10, topP: 0.9, seed: 42 });
      const s2 = await gen.generate(prompt, { maxNewTokens: 4, stopTokens: [], temperature: 1.3, topK: 10, topP: 0.9, seed: 42 });
      return { greedy, stopped, stopAt, cb, seen, s1, s2 };
    });
    expect(out.greedy.stopReason).toBe('context-full');
    expect(out.greedy.tokens.length).toBe(6); // 8 − 3 prompt tokens + 1 (the last token never enters the cache)
    const firstStop = out.greedy.tokens.indexOf(out.stopAt);
    expect(out.stopped.tokens).toEqual(out.greedy.tokens.slice(0, firstStop + 1));
    expect(out.stopped.stopReason).toBe('stop-token');
    expect(out.cb.stopReason).toBe('callback');
    expect(out.cb.tokens).toEqual(out.seen);
    expect(out.cb.tokens.length).toBe(2);
    expect(out.s1.tokens).toEqual(out.s2.tokens);
    // First sampled token = the reference sampler on the reference logits with the same uniform.
    const want = new Uint32Array(2);
    refSample(want, refLastLogits(cfg, weights, null, prompt), cfg.vocabSize, 1.3, 10, 0.9, new Rng(42).next());
    expect(out.s1.tokens[0]).toBe(want[0]);
  });

  // Batched decoding must not change any row: prompts of different lengths, rows that stop
  // early at a stop token, rows that reach maxNewTokens and a row that fills the context
  // while the others continue; with the adapter on and off; the batch partly filled.
  for (const fallback of [false, true]) {
    it(`batched greedy generation gives each prompt exactly its one-at-a-time tokens (fallback=${fallback})`, async () => {
      const ctx = await getTestContext({ fallback });
      const cfg = tinyConfig({ tieWordEmbeddings: false, attentionBias: true });
      const weights = randomWeights(cfg, 1701, 2.5);
      const lora = randomLora(cfg, 3, 1702, { magnitude: 1.5 });
      const prompts = [[5, 17, 3, 22, 9], [1], [30, 2, 2], [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21], [4, 39]];
      const maxT = 16;
      const got = await expectNoGpuError(ctx, async () => {
        const model = await gpuModel(ctx, cfg, weights);
        const lp = gpuLora(ctx, cfg, lora, 3);
        const one = new Generator(model, lp, maxT);
        const many = new Generator(model, lp, maxT, 6);
        const out = [];
        for (const loraScale of [1, 0]) {
          const free = [];
          for (const p of prompts) free.push(await one.generate(p, { maxNewTokens: 9, stopTokens: [], loraScale }));
          // A stop token that ends row 0 at its 3rd token (the other rows stop wherever it occurs in theirs).
          const opts = { maxNewTokens: 9, stopTokens: [free[0].tokens[2]], loraScale };
          const single = [];
          for (const p of prompts) single.push(await one.generate(p, opts));
          const batched = await many.generateBatch(prompts, opts);
          const fewer = await many.generateBatch(prompts.slice(1, 3), opts);
          out.push({ free, single, batched, fewer });
        }
        return out;
      });
      for (const [i, { free, single, batched, fewer }] of got.entries()) {
        expect(batched, `scale ${i === 0 ? 1 : 0}`).toEqual(single);
        expect(fewer).toEqual(single.slice(1, 3));
        const reasons = new Set(single.map((r) => r.stopReason));
        expect([...reasons].sort()).toEqual(['context-full', 'max-tokens', 'stop-token']);
        expect(single[3].tokens.length).toBe(3);
        expect(single[3].stopReason).toBe('context-full'); // 14 prompt tokens: the 3rd generated token fills 16
        expect(single[0].stopReason).toBe('stop-token');
        expect(single[0].tokens.length).toBeLessThanOrEqual(3);
        expect(free[0].tokens.length).toBe(9);
      }
      // The adapter changes the continuations, so both scales were really exercised.
      expect(got[0].free.map((r) => r.tokens)).not.toEqual(got[1].free.map((r) => r.tokens));
    });
  }

  it('an overfit run memorises a handful of examples and greedy generation reproduces them', async () => {
    const ctx = await getTestContext();
    const EOS = 47;
    const cfg = { ...tinyConfig({ hiddenSize: 32, intermediateSize: 64, numHeads: 4, numKvHeads: 2, headDim: 8, vocabSize: 48 }), eosTokenIds: [EOS] };
    const weights = randomWeights(cfg, 901);
    // Four examples: a 2-token prompt, a 6-token answer, EOS. Loss on answer + EOS only.
    const examples = [
      { prompt: [40, 1], answer: [12, 7, 33, 7, 2, 19] },
      { prompt: [41, 2], answer: [5, 5, 30, 11, 28, 3] },
      { prompt: [42, 3], answer: [21, 9, 14, 36, 0, 8] },
      { prompt: [43, 4], answer: [17, 25, 6, 31, 22, 13] },
    ];
    const T = 9;
    const batch: TokenBatch = { B: 4, T, inputIds: [], targets: [], positions: [], segmentIds: [] };
    const ids: number[] = [];
    const tg: number[] = [];
    examples.forEach((e) => {
      const seq = [...e.prompt, ...e.answer, EOS];
      for (let t = 0; t < T; t++) {
        ids.push(seq[t]);
        tg.push(t >= 1 && t < T - 1 ? seq[t + 1] : -100); // predict answer tokens and EOS
      }
    });
    Object.assign(batch, { inputIds: ids, targets: tg, positions: ids.map((_, i) => i % T), segmentIds: ids.map((_, i) => Math.floor(i / T)) });
    const targets: LinearModule[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
    const out = await expectNoGpuError(ctx, async () => {
      const model = await gpuModel(ctx, cfg, weights);
      const lp = LoraParams.create(ctx, cfg, { r: 8, alpha: 16, dropout: 0, targetModules: targets, useRslora: false }, 3);
      // Linear decay: a constant 3e-2 keeps Adam oscillating around loss ~0.05–0.3 here.
      const steps = 80;
      const tr = new LoraTrainer(ctx, model, lp, defaultOptimConfig({ schedule: { kind: 'linear', lr: 3e-2, warmupSteps: 5, totalSteps: steps }, maxGradNorm: 1 }), { B: 4, T, seed: 1 });
      const first = (await tr.evalLoss(batch)).loss;
      for (let s = 0; s < steps; s++) await tr.step(batch);
      const final = (await tr.evalLoss(batch)).loss;
      const gen = new Generator(model, lp, 16);
      const outs = [];
      for (const e of examples) outs.push(await gen.generate(e.prompt, { maxNewTokens: 12 }));
      const base = await gen.generate(examples[0].prompt, { maxNewTokens: 7, loraScale: 0 });
      return { first, final, steps: tr.stepsCompleted, outs, base };
    });
    expect(out.first).toBeGreaterThan(2);
    expect(out.steps).toBe(80);
    expect(out.final).toBeLessThan(0.01);
    out.outs.forEach((o, i) => {
      expect(o.tokens, `example ${i}`).toEqual([...examples[i].answer, EOS]);
      expect(o.stopReason).toBe('stop-token');
    });
    // The base model (adapter off) does not know the answers.
    expect(out.base.tokens).not.toEqual([...examples[0].answer, EOS]);
  }, 300_000); // ~5 s alone; the shared 2-core machine can be 20× slower under load
});
