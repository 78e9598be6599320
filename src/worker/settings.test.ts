import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, EXPLAIN, PRESETS, loraScale, plannedSteps, validateSettings } from './settings';

describe('training settings', () => {
  it('every preset is valid and every field has an explanation', () => {
    for (const p of Object.values(PRESETS)) expect(validateSettings(p.settings)).toEqual({});
    for (const k of Object.keys(DEFAULT_SETTINGS)) expect(EXPLAIN[k as keyof typeof EXPLAIN], k).toBeTruthy();
  });
  it('names the fields that are out of range', () => {
    const e = validateSettings({ ...DEFAULT_SETTINGS, rank: 0, learningRate: -1, targets: [], valSplit: 0.9, seqLen: 3.5 });
    expect(Object.keys(e).sort()).toEqual(['learningRate', 'rank', 'seqLen', 'targets', 'valSplit']);
  });
  it('plans steps from epochs and effective batch, or takes max steps', () => {
    expect(plannedSteps({ ...DEFAULT_SETTINGS, batchSize: 4, gradAccum: 2, epochs: 2, maxSteps: 0 }, 100)).toBe(26);
    expect(plannedSteps({ ...DEFAULT_SETTINGS, maxSteps: 7 }, 100)).toBe(7);
    expect(plannedSteps({ ...DEFAULT_SETTINGS, maxSteps: 0 }, 0)).toBe(1);
  });
  it('scales like PEFT', () => {
    expect(loraScale({ alpha: 16, rank: 8, rslora: false })).toBe(2);
    expect(loraScale({ alpha: 16, rank: 16, rslora: true })).toBe(4);
  });
});
