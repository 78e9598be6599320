import { describe, expect, expectTypeOf, it } from 'vitest';
import type { LossMode as DataLossMode } from '../data';
import { DEFAULT_SETTINGS, EXPLAIN, LOSS_MODES, PRESETS, loraScale, validateSettings, withDefaults, type LossMode, type TrainSettings } from './settings';

describe('training settings', () => {
  it('every preset is valid and every field has an explanation', () => {
    for (const p of Object.values(PRESETS)) expect(validateSettings(p.settings)).toEqual({});
    for (const k of Object.keys(DEFAULT_SETTINGS)) expect(EXPLAIN[k as keyof typeof EXPLAIN], k).toBeTruthy();
  });
  it('names the fields that are out of range, with the setting and its allowed range', () => {
    const e = validateSettings({ ...DEFAULT_SETTINGS, rank: 0, learningRate: -1, targets: [], valSplit: 0.9, seqLen: 3.5 });
    expect(Object.keys(e).sort()).toEqual(['learningRate', 'rank', 'seqLen', 'targets', 'valSplit']);
    expect(e.rank).toBe('Rank (r) must be a whole number from 1 to 256 (got 0)');
    expect(e.learningRate).toBe('Learning rate must be a number above 0, at most 0.1 (got -1)');
    expect(e.valSplit).toBe('Validation split must be a number from 0 to 0.5 (got 0.9)');
    expect(e.seqLen).toBe('Sequence length must be a whole number from 8 to 32768 tokens (got 3.5)');
    expect(e.targets).toContain('LoRA targets must be one or more of q_proj');
    // An emptied number field (NaN) names the range without a value.
    expect(validateSettings({ ...DEFAULT_SETTINGS, epochs: NaN }).epochs).toBe('Epochs must be a whole number from 1 to 100');
  });
  it('dropout: 0 up to but not including 1 (one rule for the CLI and the studio)', () => {
    expect(validateSettings({ ...DEFAULT_SETTINGS, dropout: 0.995 })).toEqual({});
    expect(validateSettings({ ...DEFAULT_SETTINGS, dropout: 0 })).toEqual({});
    expect(validateSettings({ ...DEFAULT_SETTINGS, dropout: 1 }).dropout).toBe('Dropout must be a number from 0 up to (not including) 1 (got 1)');
  });
  it('presets differ from the defaults only where they declare it', () => {
    expect(PRESETS.balanced.settings).toEqual(DEFAULT_SETTINGS);
    expect(PRESETS.quick.settings).toEqual({ ...DEFAULT_SETTINGS, rank: 4, alpha: 8, targets: ['q_proj', 'v_proj'], epochs: 1, seqLen: 256, gradAccum: 1, evalEvery: 20, sampleEvery: 40 });
    expect(PRESETS.thorough.settings).toEqual({ ...DEFAULT_SETTINGS, rank: 16, alpha: 32, epochs: 3, seqLen: 1024, learningRate: 1e-4, warmupSteps: 30 });
    // Presets never share arrays with each other (the store edits settings.targets).
    expect(PRESETS.balanced.settings.targets).not.toBe(DEFAULT_SETTINGS.targets);
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
    // Wrong types and choices that no longer exist get defaults; unknown fields are dropped.
    const odd = withDefaults({ rank: '16', schedule: 'exponential', targets: ['q_proj', 'gone'], rslora: true, removedSetting: 3 });
    expect(odd).toEqual({ ...DEFAULT_SETTINGS, rslora: true });
    // Out-of-range numbers stay, for the validator to name.
    expect(withDefaults({ rank: 0 }).rank).toBe(0);
  });
});
