// Sizing a GGUF base's weights without a GPU: its quantized tensors are planned as the file's
// blocks whatever storage the float tensors take, and the storage it amounts to is named for
// run records and recipes.
import { describe, expect, it } from 'vitest';
import { buildTinyModel, tinyGgufBytes } from '../../../test/fixtures/tiny-model';
import { openGgufModel } from './gguf-model';
import { memorySource } from './safetensors';
import { expectedTensors } from './config';
import { keptTensors, keptTensorsOf, plannedWeightBytes, storageClass } from './weights';
import { planTrainingMemory } from '../../train/memory-plan';
import { LINEAR_MODULES } from './config';

const pad = (n: number) => Math.ceil(n / 4) * 4;

describe('a GGUF base in the memory plan', () => {
  for (const [type, blockValues, blockBytes] of [['Q8_0', 32, 34], ['Q4_0', 32, 18]] as const) {
    it(`${type}: every 2-D weight is planned as its blocks, norms as f32`, async () => {
      const tiny = buildTinyModel({ layers: 2, hiddenSize: 64, intermediateSize: 96, numHeads: 4, numKvHeads: 2, seed: 3 });
      const { config: cfg, weights } = await openGgufModel(memorySource(await tinyGgufBytes(tiny, type), 'm.gguf'));
      const kept = keptTensors(weights);
      // Independent count: rows × (cols / block values) blocks of the file's size padded to words; 1-D tensors f32.
      let want = 0;
      for (const t of expectedTensors(cfg)) {
        const n = t.shape.reduce((a, b) => a * b, 1);
        want += t.shape.length === 2 ? pad((n / t.shape[1]) * (t.shape[1] / blockValues) * pad(blockBytes)) : pad(n * 4);
      }
      // Allocation rounding is per buffer; compare within that.
      const got = plannedWeightBytes(cfg, 'f32', kept);
      expect(Math.abs(got - want)).toBeLessThan(expectedTensors(cfg).length * 256);
      expect(got).toBeLessThan(plannedWeightBytes(cfg, 'f32') / 3);
      const plan = planTrainingMemory(cfg, { rank: 4, targets: [...LINEAR_MODULES], batchSize: 1, seqLen: 16 }, { storage: 'f32', kept }, 1 << 30);
      expect(plan.weightBytes).toBe(got);
      expect(plan.storage).toBe('f32'); // the float tensors' storage; the weights themselves are storageClass
    });
  }

  it('the storage a base amounts to is its least precise tensor class (Q6_K counts as 8-bit)', () => {
    expect(storageClass('f32', keptTensorsOf({ a: 'Q8_0', b: 'F32' }))).toBe('q8');
    expect(storageClass('f16', keptTensorsOf({ a: 'Q4_K', b: 'Q6_K' }))).toBe('q4');
    expect(storageClass('f32', keptTensorsOf({ a: 'Q6_K' }))).toBe('q8');
    expect(storageClass('q4', keptTensorsOf({ a: 'Q8_0' }))).toBe('q4');
    expect(storageClass('f16', keptTensorsOf({ a: 'F16', b: 'F32' }))).toBe('f16');
  });
});
