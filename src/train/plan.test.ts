// The run's plan without a GPU (TrainingSession.plan): what the Train screen shows as planned
// steps is what TrainingSession.open trains, packing included.
import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX, type TokenizedExample } from '../data';
import { TrainingSession, stepsFor } from './session';
import { DEFAULT_SETTINGS, type TrainSettings } from './settings';

/** `n` examples of `len` tokens, the first two untrained. */
const examples = (n: number, len: number): TokenizedExample[] =>
  Array.from({ length: n }, (_, row) => {
    const inputIds = Int32Array.from({ length: len }, (_, t) => 1 + ((row * 7 + t) % 50));
    return { row, inputIds, labels: Int32Array.from(inputIds, (id, t) => (t < 2 ? IGNORE_INDEX : id)) };
  });

const s: TrainSettings = { ...DEFAULT_SETTINGS, batchSize: 4, gradAccum: 2, epochs: 2, maxSteps: 0, seqLen: 256, valSplit: 0.1 };

describe('TrainingSession.plan', () => {
  it('packs short examples, so a run takes far fewer steps than one example per row', () => {
    const data = examples(100, 10);
    const packed = TrainingSession.plan(data, s);
    const unpacked = TrainingSession.plan(data, s, { engine: { packing: false } });
    // 90 training examples one per row: 23 batches of 4 per epoch, two epochs, accumulation 2.
    expect(unpacked.totalSteps).toBe(23);
    // 90 examples of 10 tokens fill 4 rows of 256: one batch per epoch, one step for two epochs.
    expect(packed.batches.rowsPerEpoch).toBe(4);
    expect(packed.totalSteps).toBe(1);
    expect(packed.totalSteps).toBe(stepsFor(s, packed.batches.batchesPerEpoch));
    expect(packed.valBatches?.rowsPerEpoch).toBe(1);
  });
  it('max steps win; data without a trained token in reach is refused', () => {
    expect(TrainingSession.plan(examples(40, 10), { ...s, maxSteps: 7 }).totalSteps).toBe(7);
    expect(() => TrainingSession.plan(examples(5, 10), { ...s, seqLen: 2 })).toThrow(/no.*trained token within the first 2 tokens/);
    expect(() => TrainingSession.plan([], s)).toThrow('no training examples');
  });
});
