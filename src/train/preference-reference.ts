// Float64 reference of the whole DPO step on a model: the reference model (engine/reference/model.ts)
// scores each sequence's completion tokens with the adapter on (policy) and off (reference), the
// objective (objectives.ts) turns the scores into the loss and one weight per sequence, and the
// gradient w.r.t. every LoRA tensor is the sum over sequences of that weight times the sequence's
// own log-prob gradient. The GPU path must reproduce exactly this; tests check it by finite
// differences.
import { BatchIterator } from '../data/batches';
import type { TokenizedExample } from '../data/tokenize';
import { referenceBackward, referenceForward } from '../engine/reference/model';
import type { ModelShape, RefBatch, RefLora } from '../engine/reference/model';
import { dpoLoss } from './objectives';
import type { DpoOptions, DpoResult } from './objectives';

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

/** The DPO loss of `pairs` (mean over pairs) and its gradient w.r.t. every LoRA tensor, in float64. */
export function referenceDpo(cfg: ModelShape, weights: Map<string, Float64Array>, lora: RefLora, pairs: readonly SequencePair[], opts: DpoOptions = {}): ReferenceDpoResult {
  const logps = (side: 'chosen' | 'rejected', adapter: RefLora | null) => pairs.map((p) => completionLogp(cfg, weights, adapter, p[side]));
  const result = dpoLoss(
    { policyChosen: logps('chosen', lora), policyRejected: logps('rejected', lora), referenceChosen: logps('chosen', null), referenceRejected: logps('rejected', null) },
    opts,
  );
  const grads = new Map<string, Float64Array>();
  for (const [k, w] of lora.weights) grads.set(k, new Float64Array(w.length));
  pairs.forEach((p, i) => {
    for (const [ex, weight] of [
      [p.chosen, result.dPolicyChosen[i]],
      [p.rejected, result.dPolicyRejected[i]],
    ] as const) {
      const batch = sequenceBatch(ex);
      // logp = −numTargets · meanCE, so weight · ∂logp/∂θ = ∂(lossScale · meanCE)/∂θ with this scale.
      const g = referenceBackward(cfg, weights, lora, batch, -weight * batch.numTargets).grads;
      for (const [k, acc] of grads) {
        const d = g.get(k)!;
        for (let j = 0; j < acc.length; j++) acc[j] += d[j];
      }
    }
  });
  return { ...result, grads };
}
