// DPO and ORPO in float64: hand-computed values, central finite differences on every derivative,
// ln 2 at policy = reference, and stability far out in the tails.
import { describe, expect, it } from 'vitest';
import { dpoLoss, log1mexp, logOdds, orpoLoss, sigmoid, softplus } from './objectives';
import { preferenceWeights } from '../engine/reference/preference';
import type { PreferenceObjective } from '../engine/gpu/kernels/preference';
import type { DpoInput, OrpoInput, PreferenceMetrics } from './objectives';

/** Central difference of f at x[i] (x copied). */
function central(f: (x: number[]) => number, x: number[], i: number, h = 1e-5): number {
  const up = x.slice();
  const down = x.slice();
  up[i] += h;
  down[i] -= h;
  return (f(up) - f(down)) / (2 * h);
}

function expectClose(got: number, want: number, tol = 1e-8) {
  expect(Math.abs(got - want), `got ${got}, want ${want}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want)));
}

describe('stable primitives', () => {
  it('softplus, sigmoid and log1mexp match their definitions where those are safe, and stay finite beyond', () => {
    for (const x of [-30, -2.5, -0.1, 0, 0.7, 3, 30]) {
      expectClose(softplus(x), Math.log(1 + Math.exp(x)), 1e-15);
      expectClose(sigmoid(x), 1 / (1 + Math.exp(-x)), 1e-15);
    }
    for (const x of [-40, -3, -0.69, -0.7, -1e-3]) expectClose(log1mexp(x), Math.log(1 - Math.exp(x)), 1e-12);
    expect(softplus(1e6)).toBe(1e6);
    expect(softplus(-1e6)).toBe(0);
    expect(sigmoid(-1e6)).toBe(0);
    expect(sigmoid(1e6)).toBe(1);
    // Near 0, 1 − eˣ cancels: log1mexp keeps the digits log(−x) predicts.
    expectClose(log1mexp(-1e-12), Math.log(1e-12) - 0.5e-12, 1e-12);
    expect(() => log1mexp(0)).toThrow(RangeError);
  });
});

describe('DPO (sigmoid) loss', () => {
  const one: DpoInput = { policyChosen: [-10], referenceChosen: [-12], policyRejected: [-15], referenceRejected: [-14] };

  it('matches hand-computed values and TRL metrics (β = 0.1: Δ = 2 − (−1) = 3, z = 0.3)', () => {
    const r = dpoLoss(one);
    expectClose(r.loss, 0.5543552444685271, 1e-14); // log(1 + e^−0.3)
    expectClose(r.dPolicyChosen[0], -0.0425557483188341, 1e-14); // −β·σ(−0.3)
    expectClose(r.dPolicyRejected[0], 0.0425557483188341, 1e-14);
    expect(r.metrics['rewards/chosen']).toBeCloseTo(0.2, 14);
    expect(r.metrics['rewards/rejected']).toBeCloseTo(-0.1, 14);
    expect(r.metrics['rewards/margins']).toBeCloseTo(0.3, 14);
    expect(r.metrics['rewards/accuracies']).toBe(1);
    expect(r.metrics['logps/chosen']).toBe(-10);
    expect(r.metrics['logps/rejected']).toBe(-15);
    const s = dpoLoss(one, { labelSmoothing: 0.2 });
    expectClose(s.loss, 0.6143552444685272, 1e-14); // 0.8·log(1+e^−0.3) + 0.2·log(1+e^0.3)
    expectClose(s.dPolicyChosen[0], -0.022555748318834102, 1e-14); // β·(ε − σ(−z))
  });

  it('the mean over pairs; accuracies count pairs whose chosen reward is higher', () => {
    const r = dpoLoss({ policyChosen: [-10, -5], referenceChosen: [-12, -4], policyRejected: [-15, -6], referenceRejected: [-14, -6] }, { beta: 0.5 });
    const z = [0.5 * 3, 0.5 * -1];
    expectClose(r.loss, (Math.log1p(Math.exp(-z[0])) + Math.log1p(Math.exp(-z[1]))) / 2, 1e-14);
    expect(r.metrics['rewards/accuracies']).toBe(0.5);
    expectClose(r.metrics['rewards/margins'], (z[0] + z[1]) / 2, 1e-14);
  });

  it('is exactly ln 2 at policy = reference, with and without label smoothing', () => {
    for (const eps of [0, 0.1, 0.25, 0.49]) {
      for (const beta of [0.1, 0.5, 2]) {
        const r = dpoLoss({ policyChosen: [-3.7, -120.25], referenceChosen: [-3.7, -120.25], policyRejected: [-8.1, -0.5], referenceRejected: [-8.1, -0.5] }, { beta, labelSmoothing: eps });
        expect(r.loss).toBe(Math.LN2);
        expect(r.metrics['rewards/margins']).toBe(0);
        expect(r.metrics['rewards/accuracies']).toBe(0);
      }
    }
  });

  it('derivatives match central finite differences of the loss', () => {
    const x = [-10.3, -4.2, -7.9, -15.1, -3.3, -4.4, -8.0, -14.0]; // pc0, pc1, pr0, pr1, rc0, rc1, rr0, rr1
    const input = (v: number[]): DpoInput => ({ policyChosen: v.slice(0, 2), policyRejected: v.slice(2, 4), referenceChosen: v.slice(4, 6), referenceRejected: v.slice(6, 8) });
    for (const opts of [{}, { beta: 0.7, labelSmoothing: 0.15 }]) {
      const f = (v: number[]) => dpoLoss(input(v), opts).loss;
      const r = dpoLoss(input(x), opts);
      for (let i = 0; i < 2; i++) {
        expectClose(r.dPolicyChosen[i], central(f, x, i), 1e-8);
        expectClose(r.dPolicyRejected[i], central(f, x, 2 + i), 1e-8);
      }
    }
  });

  it('stays finite and correct for huge |Δ| (softplus forms)', () => {
    const far = (d: number, eps = 0) => dpoLoss({ policyChosen: [d], referenceChosen: [0], policyRejected: [0], referenceRejected: [0] }, { beta: 1, labelSmoothing: eps });
    const lose = far(-1e5);
    expect(lose.loss).toBe(1e5); // −log σ(−1e5) = 1e5 to f64 precision
    expect(lose.dPolicyChosen[0]).toBe(-1);
    const win = far(1e5);
    expect(win.loss).toBe(0);
    expect(Math.abs(win.dPolicyChosen[0])).toBe(0);
    const smoothed = far(1e5, 0.1);
    expect(smoothed.loss).toBeCloseTo(0.1 * 1e5, 6); // ε·softplus(z) dominates
    expect(smoothed.dPolicyChosen[0]).toBeCloseTo(0.1, 15);
    expect([lose, win, smoothed].every((r) => Number.isFinite(r.loss))).toBe(true);
  });

  it('rejects bad hyperparameters and ragged inputs', () => {
    expect(() => dpoLoss(one, { beta: 0 })).toThrow(/beta/);
    expect(() => dpoLoss(one, { labelSmoothing: 0.5 })).toThrow(/labelSmoothing/);
    expect(() => dpoLoss({ ...one, policyRejected: [] })).toThrow(RangeError);
  });
});

describe('ORPO loss', () => {
  // Chosen: 3 tokens summing to −6 (mean −2); rejected: 4 tokens summing to −12 (mean −3).
  const one: OrpoInput = { policyChosen: [-6], chosenTokens: [3], policyRejected: [-12], rejectedTokens: [4] };

  it('matches hand-computed values (λ = 0.1)', () => {
    const r = orpoLoss(one);
    const lo = (m: number) => m - Math.log(1 - Math.exp(m));
    expectClose(logOdds(-2), lo(-2), 1e-14);
    expectClose(r.metrics.log_odds_chosen, 1.0943442769261573, 1e-14); // lo(−2) − lo(−3)
    expectClose(r.metrics.log_odds_ratio, -0.288750784344618, 1e-14); // log σ(1.0943…)
    expect(r.metrics.nll_loss).toBe(2);
    expectClose(r.loss, 2.028875078434462, 1e-14);
    expect(r.metrics['logps/chosen']).toBe(-2);
    expect(r.metrics['logps/rejected']).toBe(-3);
    expectClose(r.metrics['rewards/chosen'], -0.2, 1e-15);
    expectClose(r.metrics['rewards/margins'], 0.1, 1e-15);
    expect(r.metrics['rewards/accuracies']).toBe(1);
  });

  it('the NLL is the token mean over all chosen completions of the batch, as TRL computes it', () => {
    const r = orpoLoss({ policyChosen: [-6, -1], chosenTokens: [3, 1], policyRejected: [-12, -2], rejectedTokens: [4, 1] });
    expect(r.metrics.nll_loss).toBe(7 / 4);
  });

  it('derivatives w.r.t. the mean log-probs match central finite differences; token weights are them over the count', () => {
    const counts = { c: [3, 7], r: [5, 2] };
    const x = [-1.3, -0.05, -2.2, -0.9]; // mean log-probs mc0, mc1, mr0, mr1
    const input = (v: number[]): OrpoInput => ({
      policyChosen: [v[0] * counts.c[0], v[1] * counts.c[1]],
      chosenTokens: counts.c,
      policyRejected: [v[2] * counts.r[0], v[3] * counts.r[1]],
      rejectedTokens: counts.r,
    });
    for (const lambda of [0.1, 1.5]) {
      const f = (v: number[]) => orpoLoss(input(v), { lambda }).loss;
      const r = orpoLoss(input(x), { lambda });
      for (let i = 0; i < 2; i++) {
        expectClose(r.dMeanChosen[i], central(f, x, i, 1e-6), 1e-8);
        expectClose(r.dMeanRejected[i], central(f, x, 2 + i, 1e-6), 1e-8);
        expectClose(r.tokenWeightChosen[i], r.dMeanChosen[i] / counts.c[i], 1e-15);
        expectClose(r.tokenWeightRejected[i], r.dMeanRejected[i] / counts.r[i], 1e-15);
      }
    }
  });

  it('stays finite for probabilities near 1 and near 0', () => {
    const r = orpoLoss({ policyChosen: [-1e-10], chosenTokens: [1], policyRejected: [-800], rejectedTokens: [2] });
    for (const v of [r.loss, r.dMeanChosen[0], r.dMeanRejected[0], ...Object.values(r.metrics)]) expect(Number.isFinite(v)).toBe(true);
    const worse = orpoLoss({ policyChosen: [-800], chosenTokens: [2], policyRejected: [-1e-10], rejectedTokens: [1] });
    expect(Number.isFinite(worse.loss)).toBe(true);
    expect(worse.loss).toBeGreaterThan(400); // λ·(log odds gap ≈ 23 + 400) on top of the NLL 400
  });

  it('refuses a sequence without completion tokens or a log-prob of 0', () => {
    expect(() => orpoLoss({ ...one, chosenTokens: [0] })).toThrow(/chosen sequence needs at least one completion token/);
    expect(() => orpoLoss({ ...one, policyRejected: [0] })).toThrow(RangeError);
  });
});

describe('the GPU kernel’s float64 reference (engine/reference/preference) is these objectives', () => {
  // Four pairs; each row's cross-entropy sums to −logp over `tokens` trained positions of T = 4.
  const logps = [-3.2, -5.1, -0.4, -0.9, -7.5, -2.0, -1.1, -1.3];
  const tokens = [2, 3, 1, 4, 4, 2, 3, 3];
  const refs = [-3.0, -4.0, -0.5, -0.5, -6.0, -3.0, -1.0, -1.0];
  const T = 4;
  const losses = new Float64Array(8 * T);
  const targets = new Int32Array(8 * T).fill(-100);
  logps.forEach((l, b) => {
    for (let t = 0; t < tokens[b]; t++) {
      losses[b * T + t] = -l / tokens[b];
      targets[b * T + t] = 1;
    }
  });
  const side = (a: number[], k: 0 | 1) => a.filter((_, i) => i % 2 === k);
  const run = (objective: PreferenceObjective) => {
    const out = { weights: new Float64Array(8), logps: new Float64Array(8), stats: new Float64Array(8) };
    const chosenTokens = side(tokens, 0).reduce((a, b) => a + b, 0);
    preferenceWeights(out.weights, out.logps, out.stats, losses, targets, refs, 8, T, objective, { invPairs: 1 / 4, invChosenTokens: 1 / chosenTokens, accumulate: false });
    return out;
  };
  const close = (got: ArrayLike<number>, want: ArrayLike<number>) => Array.from(want).forEach((w, i) => expect(got[i]).toBeCloseTo(w, 12));
  const metricsOf = (stats: Float64Array) => [1, 2, 3, 4, 5, 6].map((k) => stats[k]);
  const metricList = (m: PreferenceMetrics) => [m['rewards/chosen'], m['rewards/rejected'], m['rewards/margins'], m['rewards/accuracies'], m['logps/chosen'], m['logps/rejected']];

  it('DPO: loss, metrics, and weights = −∂L/∂logp', () => {
    const want = dpoLoss({ policyChosen: side(logps, 0), policyRejected: side(logps, 1), referenceChosen: side(refs, 0), referenceRejected: side(refs, 1) }, { beta: 0.3, labelSmoothing: 0.1 });
    const got = run({ kind: 'dpo', beta: 0.3, labelSmoothing: 0.1 });
    close(got.logps, logps);
    expect(got.stats[0]).toBeCloseTo(want.loss, 12);
    close(metricsOf(got.stats), metricList(want.metrics));
    expect(got.stats[7]).toBe(4);
    close(got.weights, [...want.dPolicyChosen].flatMap((d, i) => [-d, -want.dPolicyRejected[i]]));
  });

  it('ORPO: loss, metrics, and weights = −∂L/∂logp (the per-token weight)', () => {
    const want = orpoLoss({ policyChosen: side(logps, 0), policyRejected: side(logps, 1), chosenTokens: side(tokens, 0), rejectedTokens: side(tokens, 1) }, { lambda: 0.7 });
    const got = run({ kind: 'orpo', lambda: 0.7 });
    expect(got.stats[0]).toBeCloseTo(want.loss, 12);
    close(metricsOf(got.stats), metricList(want.metrics));
    close(got.weights, [...want.tokenWeightChosen].flatMap((d, i) => [-d, -want.tokenWeightRejected[i]]));
  });
});
