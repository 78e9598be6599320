import { describe, expect, expectTypeOf, it } from 'vitest';
import type { LossMode as DataLossMode } from '../data';
import { DEFAULT_SETTINGS, EXPLAIN, LOSS_MODES, PRESETS, loraScale, plannedSteps, validateSettings, withDefaults, type LossMode, type TrainSettings } from './settings';

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
  it('loss mode: all assistant turns by default, the three pipeline modes accepted, anything else named', () => {
    expectTypeOf<LossMode>().toEqualTypeOf<DataLossMode>();
    expect(DEFAULT_SETTINGS.lossMode).toBe('all-assistant');
    for (const p of Object.values(PRESETS)) expect(p.settings.lossMode).toBe('all-assistant');
    expect(LOSS_MODES.map((m) => m.id)).toEqual(['all-assistant', 'last-assistant', 'all']);
    for (const m of LOSS_MODES) expect(validateSettings({ ...DEFAULT_SETTINGS, lossMode: m.id })).toEqual({});
    const e = validateSettings({ ...DEFAULT_SETTINGS, lossMode: 'prompts' as LossMode });
    expect(Object.keys(e)).toEqual(['lossMode']);
    expect(e.lossMode).toContain('last-assistant');
  });
  it('settings stored before a field existed get its default', () => {
    const { lossMode: _drop, ...old } = { ...DEFAULT_SETTINGS, rank: 16 };
    const s: TrainSettings = withDefaults(old);
    expect(s.lossMode).toBe('all-assistant');
    expect(s.rank).toBe(16);
    expect(withDefaults({ ...DEFAULT_SETTINGS, lossMode: 'all' }).lossMode).toBe('all');
    expect(withDefaults(undefined)).toEqual(DEFAULT_SETTINGS);
  });
});
