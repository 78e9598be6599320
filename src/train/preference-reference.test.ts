// The whole DPO loss on a tiny random Llama in float64: completion log-probs from the reference
// model's logits, ln 2 when the adapter is a no-op, and every LoRA gradient by finite differences.
import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../data/tokenize';
import { randomLora, randomWeights, tinyShape } from '../engine/model/tiny-random.testutil';
import { referenceForward } from '../engine/reference/model';
import { checkGradients } from '../../test/finite-diff';
import { completionLogp, referenceDpo, referenceOrpo, sequenceBatch } from './preference-reference';
import { randomPair as randomPairOf } from './preference.testutil';

const cfg = tinyShape({ tieWordEmbeddings: false });
const weights = randomWeights(cfg, 31);

const randomPair = (seed: number, promptLen: number, lens: [number, number], row = 0) => randomPairOf(cfg, seed, promptLen, lens, row);

const pairs = [randomPair(1, 3, [3, 2]), randomPair(2, 2, [2, 4], 1)];

describe('float64 DPO on the reference model', () => {
  it('a completion log-prob is the sum of log-softmax over the completion tokens of the logits', () => {
    const lora = randomLora(cfg, 2, 5);
    const ex = pairs[0].chosen;
    const { logits } = referenceForward(cfg, weights, lora, sequenceBatch(ex));
    const V = cfg.vocabSize;
    let want = 0;
    for (let t = 0; t + 1 < ex.inputIds.length; t++) {
      if (ex.labels[t + 1] === IGNORE_INDEX) continue; // position t predicts token t+1
      const row = logits.subarray(t * V, (t + 1) * V);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
      want += row[ex.inputIds[t + 1]] - lse;
    }
    expect(want).toBeLessThan(0);
    expect(Math.abs(completionLogp(cfg, weights, lora, ex) - want)).toBeLessThan(1e-12);
  });

  it('an adapter that changes nothing (B = 0, PEFT init) gives exactly ln 2', () => {
    const r = referenceDpo(cfg, weights, randomLora(cfg, 2, 6, { zeroB: true }), pairs, { labelSmoothing: 0.1 });
    expect(r.loss).toBe(Math.LN2);
  });

  for (const opts of [{}, { beta: 0.5, labelSmoothing: 0.2 }]) {
    it(`every LoRA gradient matches central finite differences (${JSON.stringify(opts)})`, () => {
      // magnitude 2: the policy far enough from the reference that the weights are not all alike.
      const lora = randomLora(cfg, 2, 7, { magnitude: 2 });
      const r = referenceDpo(cfg, weights, lora, pairs, opts);
      expect(r.loss).not.toBeCloseTo(Math.LN2, 3);
      const inputs = Object.fromEntries(lora.weights);
      const grads = Object.fromEntries(r.grads);
      for (const [k, g] of Object.entries(grads)) expect(g.some((x) => Math.abs(x) > 1e-7), `${k} gradient is all zero`).toBe(true);
      checkGradients(inputs, () => referenceDpo(cfg, weights, lora, pairs, opts).loss, grads, { eps: 1e-6, atol: 1e-9, rtol: 1e-6, maxProbe: 4 });
    });
  }

  it('ORPO: NLL of the chosen completions plus the odds-ratio term; every LoRA gradient by finite differences', () => {
    const lora = randomLora(cfg, 2, 8, { magnitude: 2 });
    const r = referenceOrpo(cfg, weights, lora, pairs, { lambda: 0.5 });
    // The NLL is the chosen sequences' token-mean cross-entropy, what SFT would train on them.
    const sum = pairs.reduce((s, p) => s + completionLogp(cfg, weights, lora, p.chosen), 0);
    const n = pairs.reduce((s, p) => s + sequenceBatch(p.chosen).numTargets, 0);
    expect(Math.abs(r.metrics.nll_loss + sum / n)).toBeLessThan(1e-12);
    const inputs = Object.fromEntries(lora.weights);
    const grads = Object.fromEntries(r.grads);
    checkGradients(inputs, () => referenceOrpo(cfg, weights, lora, pairs, { lambda: 0.5 }).loss, grads, { eps: 1e-6, atol: 1e-9, rtol: 1e-6, maxProbe: 4 });
  });
});
