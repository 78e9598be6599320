// Preference objectives on the GPU (shaders/preference_weights.wgsl): from a micro-batch's per-row
// cross-entropy, each sequence's summed completion log-prob, the objective's loss and metrics, and
// the weight each sequence's token gradients get in the backward (the cross-entropy kernel's row
// weights). Its float64 counterpart is train/objectives.ts (dpoLoss, orpoLoss).
import code from '../../../../shaders/preference_weights.wgsl?raw';
import { type Binding, type GpuContext, type Live, type Recorder, liveValue, packLive } from '../context';
import { defineParams } from '../params';
import { REDUCE_WG, withReduceLib } from './reduce-lib';

const PARAMS = defineParams(code, [
  ['B', 'u32'], ['T', 'u32'], ['kind', 'u32'], ['accumulate', 'u32'],
  ['coef', 'f32'], ['smoothing', 'f32'], ['invPairs', 'f32'], ['invChosenTokens', 'f32'],
]);

/** Rows of one preference micro-batch the kernel handles (pairs ≤ its workgroup). */
export const PREFERENCE_MAX_ROWS = 2 * REDUCE_WG;

/** Indices into the 8-float stats buffer: means over the step's pairs, `pairs` a count. */
export const PREFERENCE_STATS = {
  loss: 0,
  rewardsChosen: 1,
  rewardsRejected: 2,
  margins: 3,
  accuracies: 4,
  logpsChosen: 5,
  logpsRejected: 6,
  pairs: 7,
} as const;
export const PREFERENCE_STATS_FLOATS = 8;

/** A preference objective with its parameters (DPO: β, label smoothing ε; ORPO: λ). */
export type PreferenceObjective = { kind: 'dpo'; beta: number; labelSmoothing: number } | { kind: 'orpo'; lambda: number };

export interface PreferenceScales {
  /** 1 / pairs of the whole optimizer step (all its micro-batches). */
  invPairs: number;
  /** 1 / chosen completion tokens of the whole step (ORPO's NLL mean); any value for DPO. */
  invChosenTokens: number;
  /** Add to stats (micro-batches after the first) instead of overwriting them. */
  accumulate: boolean;
}

/**
 * weights[b] = −∂L/∂logp_b, logps[b] = summed completion log-prob of row b, stats (+)= the step's
 * loss share and TRL's metrics (PREFERENCE_STATS). Rows (2i, 2i+1) = (chosen, rejected) of pair i;
 * refLogps [B] holds the reference log-probs (DPO; bound but unread for ORPO).
 */
export function preferenceWeights(
  ctx: GpuContext,
  rec: Recorder,
  weights: Binding,
  logps: Binding,
  stats: Binding,
  losses: Binding,
  targets: Binding,
  refLogps: Binding,
  B: number,
  T: number,
  objective: PreferenceObjective,
  scales: Omit<PreferenceScales, 'invPairs' | 'invChosenTokens'> & { invPairs: Live; invChosenTokens: Live }, // step values in a replayed step
): void {
  if (B % 2 !== 0 || B < 2 || B > PREFERENCE_MAX_ROWS) throw new Error(`a preference micro-batch needs an even number of rows from 2 to ${PREFERENCE_MAX_ROWS}, got ${B}`);
  const pipeline = ctx.pipeline(withReduceLib(ctx, code), { constants: { WG: REDUCE_WG }, label: 'preference_weights' });
  const dpo = objective.kind === 'dpo';
  const params = packLive((v) => PARAMS.pack({
    B,
    T,
    kind: dpo ? 0 : 1,
    accumulate: scales.accumulate ? 1 : 0,
    coef: dpo ? objective.beta : objective.lambda,
    smoothing: dpo ? objective.labelSmoothing : 0,
    invPairs: liveValue(scales.invPairs, v),
    invChosenTokens: liveValue(scales.invChosenTokens, v),
  }), scales.invPairs, scales.invChosenTokens);
  // Reads every row's losses and targets once; a few ops per pair on top of the two sums.
  rec.dispatch(pipeline, [weights, logps, stats, losses, targets, refLogps], params, [1], 'preference_weights', { flops: 2 * B * T + 20 * B, bytes: 2 * B * T * 4 + 4 * B * 4 + 8 * 4 });
}
