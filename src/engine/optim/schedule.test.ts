import { describe, expect, it } from 'vitest';
import { learningRate, validateSchedule } from './schedule';
import { defaultOptimConfig, validateOptimConfig } from './config';

describe('learningRate (HF transformers formulas)', () => {
  it('constant with warmup', () => {
    const s = { kind: 'constant' as const, lr: 1e-3, warmupSteps: 4, totalSteps: 10 };
    expect([0, 1, 2, 3, 4, 9, 100].map((t) => learningRate(s, t))).toEqual([0, 2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3]);
  });

  it('linear: warmup then linear decay to 0 at totalSteps', () => {
    const s = { kind: 'linear' as const, lr: 1, warmupSteps: 2, totalSteps: 10 };
    // HF: max(0, (total - step) / (total - warmup)) after warmup.
    const want = [0, 0.5, 1, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8, 0, 0];
    want.forEach((w, t) => expect(learningRate(s, t)).toBeCloseTo(w, 15));
  });

  it('cosine: half a cosine from lr to 0 (or to the floor)', () => {
    const s = { kind: 'cosine' as const, lr: 2, warmupSteps: 0, totalSteps: 8 };
    for (let t = 0; t <= 8; t++) expect(learningRate(s, t)).toBeCloseTo(2 * 0.5 * (1 + Math.cos((Math.PI * t) / 8)), 14);
    expect(learningRate(s, 4)).toBeCloseTo(1, 14);
    const floored = { ...s, minLrRatio: 0.1 };
    expect(learningRate(floored, 8)).toBeCloseTo(0.2, 14);
    expect(learningRate(floored, 0)).toBeCloseTo(2, 14);
    expect(learningRate(floored, 20)).toBeCloseTo(0.2, 14);
  });

  it('rejects bad settings with clear messages', () => {
    expect(() => learningRate({ kind: 'constant', lr: 1, warmupSteps: 0, totalSteps: 1 }, -1)).toThrow(/non-negative/);
    expect(() => validateSchedule({ kind: 'linear', lr: 0, warmupSteps: 0, totalSteps: 1 })).toThrow(/positive/);
    expect(() => validateSchedule({ kind: 'cosine', lr: 1, warmupSteps: 0, totalSteps: 0 })).toThrow(/totalSteps/);
    expect(() => validateOptimConfig(defaultOptimConfig({ gradAccumSteps: 0 }))).toThrow(/gradAccumSteps/);
    expect(() => validateOptimConfig(defaultOptimConfig({ beta2: 1 }))).toThrow(/betas/);
    expect(() => validateOptimConfig(defaultOptimConfig())).not.toThrow();
  });
});
