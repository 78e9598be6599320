// Float64 reference of the whole DPO (and ORPO) step on a model: the reference model (engine/reference/model.ts)
// scores each sequence's completion tokens with the adapter on (policy) and off (reference), the
// objective (objectives.ts) turns the scores into the loss and one weight per sequence, and the
// gradient w.r.t. every LoRA tensor is the sum over sequences of that weight times the sequence's
// own log-prob gradient. The GPU path must reproduce exactly this; tests check it by finite
// differences.
import { BatchIterator } from '../data/batches';
import type { TokenizedExample } from '../data/tokenize';
import { referenceBackward, referenceForward } from '../engine/reference/model';
import type { ModelShape, RefBatch, RefLora } from '../engine/reference/model';
import { dpoLoss, orpoLoss } from './objectives';
import type { DpoOptions, DpoResult, OrpoOptions, OrpoResult } from './objectives';

/** The two sequences of a preference pair (src/data's TokenizedPair has this shape). */
export interface SequencePair {
  chosen: TokenizedExample;
  rejected: TokenizedExample;
}

/** One sequence as a one-row batch, shifted and masked by the data pipeline itself. */
export function sequenceBatch(ex: TokenizedExample): RefBatch & { numTargets: number } {
  return new BatchIterator([ex], { B: 1, T: Math.max(2, ex.inputIds.length), seed: 0, packing: false, shuffle: false }).next();
}

/**
 * Summed log-probability of a sequence's trained (completion) tokens: the reference model's mean
 * cross-entropy times the number of targets, negated. `lora` null = the base (reference) model.
 */
export function completionLogp(cfg: ModelShape, weights: Map<string, Float64Array>, lora: RefLora | null, ex: TokenizedExample): number {
  const batch = sequenceBatch(ex);
  return -referenceForward(cfg, weights, lora, batch).loss * batch.numTargets;
}

export interface ReferenceDpoResult extends DpoResult {
  /** ∂loss/∂(LoRA tensor), same keys and shapes as lora.weights. */
  grads: Map<string, Float64Array>;
}
export interface ReferenceOrpoResult extends OrpoResult {
  grads: Map<string, Float64Array>;
}

/**
 * Σ over sequences of weight · ∂(summed completion log-prob)/∂(LoRA tensor): the backward of any
 * objective that is a function of the sequences' log-probs, given ∂objective/∂logp per sequence.
 */
function weightedLogpGrads(cfg: ModelShape, weights: Map<string, Float64Array>, lora: RefLora, sequences: ReadonlyArray<readonly [TokenizedExample, number]>): Map<string, Float64Array> {
  const grads = new Map<string, Float64Array>();
  for (const [k, w] of lora.weights) grads.set(k, new Float64Array(w.length));
  for (const [ex, weight] of sequences) {
    const batch = sequenceBatch(ex);
    // logp = −numTargets · meanCE, so weight · ∂logp/∂θ = ∂(lossScale · meanCE)/∂θ with this scale.
    const g = referenceBackward(cfg, weights, lora, batch, -weight * batch.numTargets).grads;
    for (const [k, acc] of grads) {
      const d = g.get(k)!;
      for (let j = 0; j < acc.length; j++) acc[j] += d[j];
    }
  }
  return grads;
}

const logpsOf = (cfg: ModelShape, weights: Map<string, Float64Array>, pairs: readonly SequencePair[], side: 'chosen' | 'rejected', adapter: RefLora | null) =>
  pairs.map((p) => completionLogp(cfg, weights, adapter, p[side]));

/** The DPO loss of `pairs` (mean over pairs) and its gradient w.r.t. every LoRA tensor, in float64. */
export function referenceDpo(cfg: ModelShape, weights: Map<string, Float64Array>, lora: RefLora, pairs: readonly SequencePair[], opts: DpoOptions = {}): ReferenceDpoResult {
  const logps = (side: 'chosen' | 'rejected', adapter: RefLora | null) => logpsOf(cfg, weights, pairs, side, adapter);
  const result = dpoLoss(
    { policyChosen: logps('chosen', lora), policyRejected: logps('rejected', lora), referenceChosen: logps('chosen', null), referenceRejected: logps('rejected', null) },
    opts,
  );
  const sequences = pairs.flatMap((p, i) => [[p.chosen, result.dPolicyChosen[i]] as const, [p.rejected, result.dPolicyRejected[i]] as const]);
  return { ...result, grads: weightedLogpGrads(cfg, weights, lora, sequences) };
}

/** The ORPO loss of `pairs` and its gradient w.r.t. every LoRA tensor, in float64 (no reference model). */
export function referenceOrpo(cfg: ModelShape, weights: Map<string, Float64Array>, lora: RefLora, pairs: readonly SequencePair[], opts: OrpoOptions = {}): ReferenceOrpoResult {
  const tokens = (side: 'chosen' | 'rejected') => pairs.map((p) => sequenceBatch(p[side]).numTargets);
  const result = orpoLoss(
    { policyChosen: logpsOf(cfg, weights, pairs, 'chosen', lora), chosenTokens: tokens('chosen'), policyRejected: logpsOf(cfg, weights, pairs, 'rejected', lora), rejectedTokens: tokens('rejected') },
    opts,
  );
  // ∂loss/∂(summed log-prob) = ∂loss/∂(mean log-prob) / tokens = the per-token weight.
  const sequences = pairs.flatMap((p, i) => [[p.chosen, result.tokenWeightChosen[i]] as const, [p.rejected, result.tokenWeightRejected[i]] as const]);
  return { ...result, grads: weightedLogpGrads(cfg, weights, lora, sequences) };
}
