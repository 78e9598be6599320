// Preference objectives as pure float64 math over per-sequence completion log-probabilities:
// DPO (sigmoid, with label smoothing) and ORPO, as TRL defines them (FORMATS.md, "Preference
// data"). The GPU path computes the sequences' log-probs; this file turns them into the loss, the
// metrics TRL logs, and the scalar weight each sequence's token gradients get in the backward.
// Losses are means over the pairs of a batch. Everything is in softplus form, so no exp overflows
// and no log sees 0 for any finite |Δ|.

import { log1mexp, logOdds, sigmoid, softplus } from '../engine/reference/preference';

export { log1mexp, logOdds, sigmoid, softplus };

/** The metrics both objectives log, under TRL's names: means over the pairs of a batch. */
export interface PreferenceMetrics {
  'rewards/chosen': number;
  'rewards/rejected': number;
  'rewards/margins': number;
  /** Share of pairs whose chosen reward is strictly higher. */
  'rewards/accuracies': number;
  'logps/chosen': number;
  'logps/rejected': number;
}

/** Per-pair rewards and policy log-probs → TRL's metrics. */
function preferenceMetrics(rewardsChosen: ArrayLike<number>, rewardsRejected: ArrayLike<number>, logpsChosen: ArrayLike<number>, logpsRejected: ArrayLike<number>): PreferenceMetrics {
  const n = rewardsChosen.length;
  let wins = 0;
  let margins = 0;
  for (let i = 0; i < n; i++) {
    if (rewardsChosen[i] > rewardsRejected[i]) wins++;
    margins += rewardsChosen[i] - rewardsRejected[i];
  }
  return {
    'rewards/chosen': mean(rewardsChosen),
    'rewards/rejected': mean(rewardsRejected),
    'rewards/margins': margins / n,
    'rewards/accuracies': wins / n,
    'logps/chosen': mean(logpsChosen),
    'logps/rejected': mean(logpsRejected),
  };
}

export interface DpoOptions {
  /** β, the strength of the KL penalty towards the reference (TRL default 0.1). */
  beta?: number;
  /** ε, the probability that a pair's labels are flipped (conservative DPO; default 0). */
  labelSmoothing?: number;
}

/** Summed completion log-probabilities of each pair's sequences, index i = pair i. */
export interface PairLogps {
  policyChosen: ArrayLike<number>;
  policyRejected: ArrayLike<number>;
}
export interface DpoInput extends PairLogps {
  referenceChosen: ArrayLike<number>;
  referenceRejected: ArrayLike<number>;
}

export interface DpoResult {
  /** Mean over pairs of −(1−ε)·log σ(βΔ) − ε·log σ(−βΔ). */
  loss: number;
  /**
   * ∂loss/∂(summed policy log-prob) of each chosen / rejected sequence: the weight every completion
   * token's log-prob gradient of that sequence gets in the backward (the reference gets none).
   */
  dPolicyChosen: Float64Array;
  dPolicyRejected: Float64Array;
  metrics: PreferenceMetrics;
}

function pairCount(arrays: ArrayLike<number>[]): number {
  const n = arrays[0].length;
  if (n === 0) throw new RangeError('a preference batch needs at least one pair');
  for (const a of arrays) if (a.length !== n) throw new RangeError(`every per-pair array must have ${n} entries, got ${a.length}`);
  return n;
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

export function dpoLoss(input: DpoInput, opts: DpoOptions = {}): DpoResult {
  const beta = opts.beta ?? 0.1;
  const eps = opts.labelSmoothing ?? 0;
  if (!(beta > 0)) throw new RangeError(`beta must be > 0, got ${beta}`);
  if (!(eps >= 0 && eps < 0.5)) throw new RangeError(`labelSmoothing must be in [0, 0.5), got ${eps}`);
  const { policyChosen: pc, policyRejected: pr, referenceChosen: rc, referenceRejected: rr } = input;
  const n = pairCount([pc, pr, rc, rr]);
  const dPolicyChosen = new Float64Array(n);
  const dPolicyRejected = new Float64Array(n);
  const rewardsChosen = new Float64Array(n);
  const rewardsRejected = new Float64Array(n);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    rewardsChosen[i] = beta * (pc[i] - rc[i]);
    rewardsRejected[i] = beta * (pr[i] - rr[i]);
    const z = beta * (pc[i] - rc[i] - (pr[i] - rr[i]));
    // −(1−ε)·log σ(z) − ε·log σ(−z) = softplus(−z) + ε·z, since softplus(z) − softplus(−z) = z.
    // This form is exactly ln 2 at z = 0 whatever ε, and never overflows.
    loss += softplus(-z) + eps * z;
    // d/dz = −σ(−z) + ε.
    const dz = (eps - sigmoid(-z)) / n;
    dPolicyChosen[i] = beta * dz;
    dPolicyRejected[i] = -beta * dz;
  }
  return { loss: loss / n, dPolicyChosen, dPolicyRejected, metrics: preferenceMetrics(rewardsChosen, rewardsRejected, pc, pr) };
}

export interface OrpoOptions {
  /** λ, the weight of the odds-ratio term (TRL's ORPO `beta`; default 0.1). */
  lambda?: number;
}

export interface OrpoInput extends PairLogps {
  /** Completion tokens of each chosen / rejected sequence (the means divide by them). */
  chosenTokens: ArrayLike<number>;
  rejectedTokens: ArrayLike<number>;
}

export interface OrpoResult {
  /** nll − λ·mean(log σ(log odds(c) − log odds(r))). */
  loss: number;
  /**
   * ∂loss/∂(mean per-token log-prob) of each chosen / rejected sequence. The NLL term is TRL's:
   * cross-entropy averaged over all chosen completion tokens of the batch.
   */
  dMeanChosen: Float64Array;
  dMeanRejected: Float64Array;
  /** ∂loss/∂(log-prob of one completion token) of each sequence: dMean / tokens. */
  tokenWeightChosen: Float64Array;
  tokenWeightRejected: Float64Array;
  metrics: PreferenceMetrics & {
    log_odds_ratio: number;
    log_odds_chosen: number;
    nll_loss: number;
  };
}

/** The ORPO loss of a batch from summed completion log-probs and completion token counts. */
export function orpoLoss(input: OrpoInput, opts: OrpoOptions = {}): OrpoResult {
  const lambda = opts.lambda ?? 0.1;
  if (!(lambda >= 0)) throw new RangeError(`orpo lambda must be >= 0, got ${lambda}`);
  const { policyChosen: sc, policyRejected: sr, chosenTokens: nc, rejectedTokens: nr } = input;
  const n = pairCount([sc, sr, nc, nr]);
  let chosenTokenTotal = 0;
  let chosenLogpTotal = 0;
  const mc = new Float64Array(n);
  const mr = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (const [k, t] of [
      ['chosen', nc[i]],
      ['rejected', nr[i]],
    ] as const) {
      if (!(Number.isInteger(t) && t > 0)) throw new RangeError(`pair ${i}: the ${k} sequence needs at least one completion token, got ${t}`);
    }
    mc[i] = sc[i] / nc[i];
    mr[i] = sr[i] / nr[i];
    chosenTokenTotal += nc[i];
    chosenLogpTotal += sc[i];
  }
  const nll = -chosenLogpTotal / chosenTokenTotal;
  const dMeanChosen = new Float64Array(n);
  const dMeanRejected = new Float64Array(n);
  let ratioSum = 0;
  let oddsSum = 0;
  for (let i = 0; i < n; i++) {
    const x = logOdds(mc[i]) - logOdds(mr[i]);
    ratioSum += -softplus(-x); // log σ(x)
    oddsSum += x;
    // d log odds(m)/dm = 1 / (1 − eᵐ) = −1 / expm1(m); d(−λ·log σ(x))/dx = −λ·σ(−x).
    const dx = (-lambda * sigmoid(-x)) / n;
    dMeanChosen[i] = dx / -Math.expm1(mc[i]) - nc[i] / chosenTokenTotal;
    dMeanRejected[i] = -dx / -Math.expm1(mr[i]);
  }
  const ratio = ratioSum / n;
  return {
    loss: nll - lambda * ratio,
    dMeanChosen,
    dMeanRejected,
    tokenWeightChosen: dMeanChosen.map((d, i) => d / nc[i]),
    tokenWeightRejected: dMeanRejected.map((d, i) => d / nr[i]),
    metrics: {
      // TRL's ORPO rewards are λ·(mean log-prob); accuracies compare them, so λ = 0 wins nothing.
      ...preferenceMetrics(
        mc.map((m) => lambda * m),
        mr.map((m) => lambda * m),
        mc,
        mr,
      ),
      log_odds_ratio: ratio,
      log_odds_chosen: oddsSum / n,
      nll_loss: nll,
    },
  };
}
