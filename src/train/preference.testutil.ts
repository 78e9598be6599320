// Test helpers for preference pairs: random pairs on a tiny model's vocabulary, and the batches
// the GPU trains on (rows 2i, 2i+1 = chosen, rejected of pair i), made by the data pipeline itself.
import { BatchIterator, type Batch } from '../data/batches';
import { IGNORE_INDEX, type TokenizedExample } from '../data/tokenize';
import type { ModelShape } from '../engine/reference/model';
import { seededRandom } from '../engine/model/tiny-random.testutil';
import type { SequencePair } from './preference-reference';

/** A pair sharing `promptLen` random prompt tokens, completions of the given lengths (trained). */
export function randomPair(cfg: Pick<ModelShape, 'vocabSize'>, seed: number, promptLen: number, lens: [number, number], row = 0): SequencePair {
  const r = seededRandom(seed);
  const tok = () => Math.floor(r() * cfg.vocabSize);
  const prompt = Array.from({ length: promptLen }, tok);
  const side = (n: number): TokenizedExample => {
    const ids = [...prompt, ...Array.from({ length: n }, tok)];
    return { row, inputIds: Int32Array.from(ids), labels: Int32Array.from(ids, (id, t) => (t >= promptLen ? id : IGNORE_INDEX)) };
  };
  return { chosen: side(lens[0]), rejected: side(lens[1]) };
}

/** `pairs` as unpacked batches of `pairsPerBatch` pairs (2 rows each), T tokens per row, in order. */
export function pairBatches(pairs: readonly SequencePair[], pairsPerBatch: number, T: number): Batch[] {
  const it = new BatchIterator(pairs.flatMap((p) => [p.chosen, p.rejected]), { B: 2 * pairsPerBatch, T, seed: 0, packing: false, shuffle: false });
  return [...it.epochBatches(0)];
}
