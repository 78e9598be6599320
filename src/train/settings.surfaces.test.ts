// Every declared training setting reaches every surface derived from SETTINGS: the validator,
// the stored-settings migration, the CLI's parseArgs options, its parsing and --help, and the
// Train screen. A setting added to the declaration but missed by a surface fails here.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { TRAIN_HELP, TRAIN_OPTIONS, settingsFromFlags } from '../cli/commands/train';
import { SettingControl, Settings } from '../ui/training/Settings';
import { DEFAULT_SETTINGS, EXPLAIN, PRESETS, SETTING_GROUPS, SETTING_KEYS, forObjective, inapplicableReason, isValidSetting, objectiveDataProblem, objectiveForData, objectivesOffFor, requirement, settingSpec, validateSettings, withDefaults, type SettingSpec, type TrainSettings } from './settings';
import type { Values } from '../cli/args';

/** A value the setting must refuse, and a valid one other than its default. */
function samples(spec: SettingSpec): { bad: unknown; other: unknown; flagText: string | true } {
  switch (spec.kind) {
    case 'number': {
      const other = spec.default === spec.max ? spec.min + (spec.int ? 1 : 0.01) : spec.int ? spec.default + 1 : Math.min(spec.max, spec.default * 1.5 || 0.01);
      return { bad: spec.max + 1, other, flagText: String(other) };
    }
    case 'boolean':
      return { bad: 'yes', other: !spec.default, flagText: true };
    case 'choice': {
      const other = spec.choices.find((c) => c.id !== spec.default)!.id;
      return { bad: 'no-such-choice', other, flagText: other };
    }
    case 'list':
      return { bad: [], other: [spec.choices[0]], flagText: spec.choices[0] };
  }
}

/** The objective a setting applies to (its first), as settings to spread; nothing for a setting of every objective. */
const objectiveOf = (spec: SettingSpec): Partial<TrainSettings> => (spec.onlyFor ? { objective: spec.onlyFor[0] } : {});

const unescape = (html: string) => html.replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

describe('one declaration of every training setting', () => {
  it('declares each setting completely: default valid, explanation, label, a known group, presets valid', () => {
    const groups = SETTING_GROUPS.map((g) => g.id as string);
    for (const k of SETTING_KEYS) {
      const spec = settingSpec(k);
      expect(isValidSetting(spec, spec.default), k).toBe(true);
      expect(spec.explain.length, k).toBeGreaterThan(10);
      expect(spec.label, k).toBeTruthy();
      expect(groups, k).toContain(spec.group);
      if (spec.flag === null) expect(spec.cliNote, `${k}: a setting without a CLI flag says why`).toBeTruthy();
      for (const [id, v] of Object.entries(spec.presets ?? {})) expect(isValidSetting(spec, v), `${k} in preset ${id}`).toBe(true);
    }
    for (const p of Object.values(PRESETS)) expect(validateSettings(p.settings)).toEqual({});
  });

  it('validator: every setting is checked, the message names it and its allowed range', () => {
    for (const k of SETTING_KEYS) {
      const spec = settingSpec(k);
      const e = validateSettings({ ...DEFAULT_SETTINGS, ...objectiveOf(spec), [k]: samples(spec).bad } as TrainSettings);
      expect(Object.keys(e), k).toEqual([k]);
      expect(e[k], k).toContain(`${spec.label} must be ${requirement(spec)}`);
    }
  });

  it('migration: a stored setting missing any one field gets that default and keeps the rest', () => {
    for (const k of SETTING_KEYS) {
      const spec = settingSpec(k);
      const stored: Record<string, unknown> = {};
      for (const j of SETTING_KEYS) if (j !== k) stored[j] = j === 'seed' ? 7 : DEFAULT_SETTINGS[j];
      const s = withDefaults(stored);
      expect(s[k], k).toEqual(spec.default);
      if (k !== 'seed') expect(s.seed, k).toBe(7);
      expect(withDefaults({ ...stored, [k]: samples(spec).other })[k], k).toEqual(samples(spec).other);
    }
  });

  it('CLI: every setting with a flag is a parseArgs option, parsed into its field, checked, and in --help', () => {
    const options = TRAIN_OPTIONS as Record<string, { type: string }>;
    for (const k of SETTING_KEYS) {
      const spec = settingSpec(k);
      const flag = spec.flag;
      if (flag === null) continue;
      expect(options[flag]?.type, k).toBe(spec.kind === 'boolean' ? 'boolean' : 'string');
      const { other, flagText } = samples(spec);
      const objective = spec.onlyFor ? { objective: spec.onlyFor[0] } : {};
      const parsed = settingsFromFlags({ ...objective, [flag]: flagText } as Values);
      expect(parsed[k], k).toEqual(other);
      expect(parsed, k).toEqual({ ...DEFAULT_SETTINGS, ...objective, [k]: other });
      if (spec.kind !== 'boolean') expect(() => settingsFromFlags({ ...objective, [flag]: spec.kind === 'list' ? '' : 'no-such-value' } as Values), k).toThrow(`--${flag}`);
      const line = TRAIN_HELP.split('\n').find((l) => l.trimStart().startsWith(`--${flag} `));
      expect(line, `--help names --${flag}`).toBeDefined();
      expect(line, k).toContain(spec.explain);
      if (spec.kind === 'number') expect(line, k).toContain(requirement(spec));
      if (spec.kind === 'choice' || spec.kind === 'list') for (const c of spec.choices) expect(line, k).toContain(typeof c === 'string' ? c : c.id);
    }
    expect(settingsFromFlags({})).toEqual(DEFAULT_SETTINGS);
  });

  it('CLI: out-of-range numbers are refused with the flag and the range, the same range as the studio', () => {
    expect(() => settingsFromFlags({ rank: '0' })).toThrow('--rank 0: must be a whole number from 1 to 256');
    expect(() => settingsFromFlags({ dropout: '1' })).toThrow('--dropout 1: must be a number from 0 up to (not including) 1');
    expect(settingsFromFlags({ dropout: '0.995' }).dropout).toBe(0.995);
    expect(() => settingsFromFlags({ epochs: 'two' })).toThrow('--epochs: expected a number, got "two"');
    expect(() => settingsFromFlags({ targets: 'q_proj,q_proj' })).toThrow('--targets q_proj,q_proj: must be one or more of');
  });

  it('Train screen: every setting has its labelled control and explanation, in its group', () => {
    const html = unescape(renderToStaticMarkup(createElement(Settings, { errors: {}, disabled: false })));
    for (const g of SETTING_GROUPS) expect(html).toContain(`<legend>${g.title}</legend>`);
    for (const k of SETTING_KEYS) {
      const spec = settingSpec(k);
      expect(html, k).toContain(spec.label);
      expect(html, k).toContain(EXPLAIN[k]);
    }
    const numbers = SETTING_KEYS.filter((k) => settingSpec(k).kind === 'number').length;
    expect(html.match(/type="number"/g)?.length).toBe(numbers);
    // An error is shown at its field.
    const withError = unescape(renderToStaticMarkup(createElement(Settings, { errors: validateSettings({ ...DEFAULT_SETTINGS, rank: 0 }), disabled: false })));
    expect(withError).toContain('Rank (r) must be a whole number from 1 to 256 (got 0)');
  });
});

describe('settings of one objective (β, label smoothing: DPO; λ: ORPO)', () => {
  const only = SETTING_KEYS.filter((k) => settingSpec(k).onlyFor);

  it('declares β and label smoothing for DPO and λ for ORPO', () => {
    expect(Object.fromEntries(only.map((k) => [k, settingSpec(k).onlyFor]))).toEqual({ beta: ['dpo'], labelSmoothing: ['dpo'], orpoLambda: ['orpo'] });
  });

  it('validates a setting only under its objective, and says why it is not used elsewhere', () => {
    const bad = { ...DEFAULT_SETTINGS, beta: 0, labelSmoothing: 0.7, orpoLambda: -1 };
    expect(Object.keys(validateSettings({ ...bad, objective: 'sft' }))).toEqual([]);
    expect(Object.keys(validateSettings({ ...bad, objective: 'dpo' })).sort()).toEqual(['beta', 'labelSmoothing']);
    expect(Object.keys(validateSettings({ ...bad, objective: 'orpo' }))).toEqual(['orpoLambda']);
    expect(inapplicableReason('beta', 'orpo')).toBe('applies to DPO only, and the objective is ORPO');
    expect(inapplicableReason('orpoLambda', 'sft')).toBe('applies to ORPO only, and the objective is SFT');
    expect(inapplicableReason('beta', 'dpo')).toBeNull();
    expect(inapplicableReason('rank', 'orpo')).toBeNull();
  });

  it('a run keeps only its objective\'s own values (others back to their defaults)', () => {
    const s = { ...DEFAULT_SETTINGS, beta: 0.5, labelSmoothing: 0.2, orpoLambda: 0.7, rank: 4 };
    expect(forObjective({ ...s, objective: 'orpo' })).toEqual({ ...s, objective: 'orpo', beta: DEFAULT_SETTINGS.beta, labelSmoothing: DEFAULT_SETTINGS.labelSmoothing });
    expect(forObjective({ ...s, objective: 'dpo' })).toEqual({ ...s, objective: 'dpo', orpoLambda: DEFAULT_SETTINGS.orpoLambda });
    expect(forObjective({ ...s, objective: 'sft' })).toEqual({ ...s, objective: 'sft', beta: DEFAULT_SETTINGS.beta, labelSmoothing: DEFAULT_SETTINGS.labelSmoothing, orpoLambda: DEFAULT_SETTINGS.orpoLambda });
  });

  it('CLI: a flag of another objective is refused, naming the objective it needs', () => {
    expect(() => settingsFromFlags({ objective: 'orpo', beta: '0.5' })).toThrow('--beta applies to DPO only, and the objective is ORPO: leave it out, or add --objective dpo');
    expect(() => settingsFromFlags({ 'orpo-lambda': '0.5' })).toThrow('--orpo-lambda applies to ORPO only, and the objective is SFT: leave it out, or add --objective orpo');
    expect(() => settingsFromFlags({ objective: 'dpo', 'label-smoothing': '0.1', 'orpo-lambda': '0.2' })).toThrow('--orpo-lambda applies to ORPO only');
    expect(settingsFromFlags({ objective: 'orpo', 'orpo-lambda': '0.5' }).orpoLambda).toBe(0.5);
  });

  it('Train screen: the other objective\'s fields are disabled with the reason; the chosen one\'s are live', () => {
    const html = (objective: TrainSettings['objective']) =>
      only.map((k) => unescape(renderToStaticMarkup(createElement(SettingControl, { k, settings: { ...DEFAULT_SETTINGS, objective }, errors: {}, set: () => {} })))).join('');
    // The control right after a label, and whether it is disabled.
    const control = (h: string, label: string) => /<input[^>]*>/.exec(h.slice(h.indexOf(`>${label}</label>`)))![0];
    const dpo = html('dpo');
    expect(control(dpo, 'DPO beta (β)')).not.toContain('disabled');
    expect(control(dpo, 'ORPO lambda (λ)')).toContain('disabled');
    expect(dpo).toContain('Not used: applies to ORPO only, and the objective is DPO.');
    const orpo = html('orpo');
    expect(control(orpo, 'DPO beta (β)')).toContain('disabled');
    expect(control(orpo, 'DPO label smoothing')).toContain('disabled');
    expect(control(orpo, 'ORPO lambda (λ)')).not.toContain('disabled');
    expect(orpo).toContain('Not used: applies to DPO only, and the objective is ORPO.');
  });
});

describe('the objective against the data', () => {
  it('pairs need DPO or ORPO, single answers SFT; the message says what the file holds and what to do', () => {
    expect(objectiveDataProblem({ pairs: true, count: 40 }, 'sft')).toMatch(/^the dataset holds 40 preference pairs .*choose the DPO or ORPO objective/);
    expect(objectiveDataProblem({ pairs: false, count: 12 }, 'orpo')).toMatch(/^ORPO trains on preference pairs .* 12 examples with one answer each: use the SFT objective/);
    expect(objectiveDataProblem({ pairs: true, count: 40 }, 'dpo')).toBeNull();
    expect(objectiveDataProblem({ pairs: true, count: 40 }, 'orpo')).toBeNull();
    expect(objectiveDataProblem({ pairs: false, count: 12 }, 'sft')).toBeNull();
  });

  it('choosing a dataset switches an objective that cannot train it: DPO for pairs, SFT for single answers', () => {
    expect(objectiveForData(true, 'sft')).toBe('dpo');
    expect(objectiveForData(false, 'dpo')).toBe('sft');
    expect(objectiveForData(false, 'orpo')).toBe('sft');
    expect(objectiveForData(true, 'dpo')).toBeNull();
    expect(objectiveForData(true, 'orpo')).toBeNull();
    expect(objectiveForData(false, 'sft')).toBeNull();
  });

  it('the objectives a dataset cannot train are disabled on the Train screen, with why', () => {
    expect(objectivesOffFor(true)).toEqual({ sft: 'SFT needs one answer per example, and the dataset holds preference pairs' });
    expect(objectivesOffFor(false)).toEqual({
      dpo: 'DPO needs preference pairs (prompt, chosen, rejected), and the dataset holds one answer per example',
      orpo: 'ORPO needs preference pairs (prompt, chosen, rejected), and the dataset holds one answer per example',
    });
    const html = unescape(renderToStaticMarkup(createElement(SettingControl, { k: 'objective', settings: { ...DEFAULT_SETTINGS, objective: 'dpo' }, errors: {}, offChoices: objectivesOffFor(true), set: () => {} })));
    expect(/<option[^>]*value="sft"[^>]*>/.exec(html)![0]).toContain('disabled');
    expect(/<option[^>]*value="dpo"[^>]*>/.exec(html)![0]).not.toContain('disabled');
    expect(/<option[^>]*value="orpo"[^>]*>/.exec(html)![0]).not.toContain('disabled');
    expect(html).toContain('Not offered: SFT needs one answer per example, and the dataset holds preference pairs.');
    expect(html).toContain('not for this dataset');
  });
});
