// float64 reference of preference_weights.wgsl (same argument order as the launcher in
// gpu/kernels/preference.ts): per-sequence completion log-probs from per-row cross-entropy, and
// a preference objective's loss share, metrics and per-sequence gradient weights. The numerically
// safe scalar functions live here and train/objectives.ts (the objectives' batch-level API, which
// a test checks this against) uses them too.
import type { PreferenceObjective, PreferenceScales } from '../gpu/kernels/preference';

/** softplus(x) = log(1 + eˣ) = −log σ(−x), for any finite x without overflow. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** σ(x), without overflow. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1 − eˣ) for x < 0, accurate at both ends (Mächler's log1mexp). */
export function log1mexp(x: number): number {
  if (!(x < 0)) throw new RangeError(`log(1 − exp(x)) needs x < 0, got ${x}`);
  return x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
}

/** log(p / (1 − p)) with log p = m, the mean per-token log-prob (m < 0). */
export function logOdds(m: number): number {
  return m - log1mexp(m);
}

/** See preference_weights.wgsl: weights[b] = −∂L/∂logp_b, logps[b], stats[0..7] (+)=. */
export function preferenceWeights(
  weights: Float64Array,
  logps: Float64Array,
  stats: Float64Array,
  losses: ArrayLike<number>,
  targets: ArrayLike<number>,
  refLogps: ArrayLike<number>,
  B: number,
  T: number,
  objective: PreferenceObjective,
  scales: PreferenceScales,
): void {
  const tokens = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) {
      s += losses[b * T + t];
      if (targets[b * T + t] !== -100) tokens[b]++;
    }
    logps[b] = -s;
  }
  const st = new Float64Array(8);
  for (let c = 0; c + 1 < B; c += 2) {
    const r = c + 1;
    const [pc, pr, nc, nr] = [logps[c], logps[r], tokens[c], tokens[r]];
    let [wc, wr] = [0, 0];
    if (nc > 0 && nr > 0) {
      let rewardC: number, rewardR: number, metricC: number, metricR: number;
      if (objective.kind === 'dpo') {
        const { beta, labelSmoothing: eps } = objective;
        rewardC = beta * (pc - refLogps[c]);
        rewardR = beta * (pr - refLogps[r]);
        const z = rewardC - rewardR;
        st[0] += (softplus(-z) + eps * z) * scales.invPairs;
        const dz = (eps - sigmoid(-z)) * scales.invPairs;
        [wc, wr] = [beta * dz, -beta * dz];
        [metricC, metricR] = [pc, pr];
      } else {
        const lam = objective.lambda;
        const [mc, mr] = [pc / nc, pr / nr];
        const x = logOdds(mc) - logOdds(mr);
        st[0] += -pc * scales.invChosenTokens + lam * softplus(-x) * scales.invPairs;
        const dx = -lam * sigmoid(-x) * scales.invPairs;
        wc = (dx / -Math.expm1(mc) - nc * scales.invChosenTokens) / nc;
        wr = -dx / -Math.expm1(mr) / nr;
        [rewardC, rewardR, metricC, metricR] = [lam * mc, lam * mr, mc, mr];
      }
      st[1] += rewardC * scales.invPairs;
      st[2] += rewardR * scales.invPairs;
      st[3] += (rewardC - rewardR) * scales.invPairs;
      st[4] += (rewardC > rewardR ? 1 : 0) * scales.invPairs;
      st[5] += metricC * scales.invPairs;
      st[6] += metricR * scales.invPairs;
      st[7] += 1;
    }
    weights[c] = -wc;
    weights[r] = -wr;
  }
  for (let k = 0; k < 8; k++) stats[k] = (scales.accumulate ? stats[k] : 0) + st[k];
}
