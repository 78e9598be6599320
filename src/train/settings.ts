// Training settings: ONE declaration per setting (SETTINGS below: type, default, range or
// choices, unit, one-line explanation, CLI flag, Train-screen group and label, preset values).
// The TrainSettings type, the presets, validation and the migration of stored settings derive
// from it here; the CLI's flags, parsing and --help (cli/commands/train.ts) and the Train
// screen's fields (ui/training/Settings.tsx, through src/worker/settings.ts) derive from it
// there. Pure data, shared by the training session, the CLI, the worker, persist/ and the UI.
// A new setting is one new entry here; settings.surfaces.test.ts checks every surface has it.
import { LINEAR_MODULES } from '../engine/model/config';
import { loraScalingOf } from '../engine/model/lora-params';

/** The linear layers that can carry an adapter (the engine's list). */
export const LORA_TARGETS = LINEAR_MODULES;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export type PresetId = 'quick' | 'balanced' | 'thorough';
const PRESET_INFO: Record<PresetId, { label: string; hint: string }> = {
  quick: { label: 'Quick try', hint: 'A few minutes: attention only, short sequences. Tells you whether the data teaches anything.' },
  balanced: { label: 'Balanced', hint: 'All seven linear layers, rank 8: a good default for style and format.' },
  thorough: { label: 'Thorough', hint: 'Rank 16, three epochs, longer sequences. Needs more memory and time.' },
};

/** The Train screen's groups, in screen order. */
export const SETTING_GROUPS = [
  { id: 'objective', title: 'Objective' },
  { id: 'targets', title: 'LoRA targets' },
  { id: 'loss', title: 'Loss' },
  { id: 'adapter', title: 'Adapter' },
  { id: 'optimizer', title: 'Optimizer' },
  { id: 'length', title: 'Length of training' },
  { id: 'batches', title: 'Batches' },
  { id: 'evaluation', title: 'Evaluation' },
] as const;
export type SettingGroup = (typeof SETTING_GROUPS)[number]['id'];

interface Common {
  /** One line shown next to the control and in `train --help`. */
  explain: string;
  /** The Train screen's label and group. */
  label: string;
  group: SettingGroup;
  /** `train --<flag>`; null where the CLI has no use for it (`cliNote` says why). */
  flag: string | null;
  cliNote?: string;
  /** The objectives the setting means something for (absent: all). Elsewhere it is not validated, shown disabled and refused as a CLI flag. */
  onlyFor?: readonly ObjectiveId[];
}
export interface NumberSetting extends Common {
  kind: 'number';
  default: number;
  int: boolean;
  min: number;
  max: number;
  /** The bound itself is not allowed. */
  minExclusive?: boolean;
  maxExclusive?: boolean;
  unit?: string;
  /** Increment of the Train screen's number input (1 when absent). */
  step?: number;
  presets?: Partial<Record<PresetId, number>>;
}
export interface BooleanSetting extends Common {
  kind: 'boolean';
  /** false: a CLI boolean flag can only switch it on. */
  default: false;
  presets?: Partial<Record<PresetId, boolean>>;
}
export interface ChoiceSetting extends Common {
  kind: 'choice';
  default: string;
  choices: readonly { readonly id: string; readonly label: string }[];
  presets?: Partial<Record<PresetId, string>>;
}
export interface ListSetting extends Common {
  kind: 'list';
  default: readonly string[];
  /** Allowed items (each at most once, at least one). */
  choices: readonly string[];
  /** What one item is called in messages ("module"). */
  item: string;
  presets?: Partial<Record<PresetId, readonly string[]>>;
}
export type SettingSpec = NumberSetting | BooleanSetting | ChoiceSetting | ListSetting;

/** Which tokens the loss is computed on (the data pipeline's LossMode). */
export const LOSS_MODES = [
  { id: 'all-assistant', label: 'all assistant turns' },
  { id: 'last-assistant', label: 'last assistant turn only' },
  { id: 'all', label: 'everything, prompts included' },
] as const;
const SCHEDULES = [
  { id: 'constant', label: 'constant' },
  { id: 'linear', label: 'linear decay' },
  { id: 'cosine', label: 'cosine decay' },
] as const;
const STEPS = 1_000_000;
/** What training optimises: one answer per example (SFT) or a preferred and a rejected answer (DPO, ORPO). */
export const OBJECTIVES = [
  { id: 'sft', label: 'supervised (SFT)' },
  { id: 'dpo', label: 'preference: DPO' },
  { id: 'orpo', label: 'preference: ORPO' },
] as const;
type ObjectiveId = (typeof OBJECTIVES)[number]['id'];
/** An objective's short name, as messages say it ("SFT", "DPO"). */
export const objectiveName = (o: ObjectiveId) => (o === 'sft' ? 'SFT' : o.toUpperCase());

export const SETTINGS = {
  objective: {
    kind: 'choice', default: 'sft', choices: OBJECTIVES,
    label: 'Objective', group: 'objective', flag: 'objective',
    explain: 'SFT teaches the answers in the data. DPO and ORPO need pairs (prompt, chosen, rejected) and teach which of two answers to prefer: DPO against the model as it started, ORPO without that reference pass (cheaper, and it also learns the chosen answers).',
  },
  beta: {
    kind: 'number', default: 0.1, int: false, min: 0, minExclusive: true, max: 10, step: 0.01,
    label: 'DPO beta (β)', group: 'objective', flag: 'beta', onlyFor: ['dpo'],
    explain: 'DPO only. How closely the model stays to where it started: higher keeps it closer (small, safe changes), lower lets the preference pull it further. 0.1 is usual.',
  },
  labelSmoothing: {
    kind: 'number', default: 0, int: false, min: 0, max: 0.5, maxExclusive: true, step: 0.01,
    label: 'DPO label smoothing', group: 'objective', flag: 'label-smoothing', onlyFor: ['dpo'],
    explain: 'DPO only. The share of pairs you think are labelled the wrong way round (conservative DPO); 0 trusts every pair.',
  },
  orpoLambda: {
    kind: 'number', default: 0.1, int: false, min: 0, max: 10, step: 0.01,
    label: 'ORPO lambda (λ)', group: 'objective', flag: 'orpo-lambda', onlyFor: ['orpo'],
    explain: 'ORPO only. Weight of the preference (odds-ratio) term beside learning the chosen answer; higher pushes the rejected answers down harder. 0.1 is usual.',
  },
  rank: {
    kind: 'number', default: 8, int: true, min: 1, max: 256, presets: { quick: 4, thorough: 16 },
    label: 'Rank (r)', group: 'adapter', flag: 'rank',
    explain: 'Size of the low-rank update. Higher learns more, uses more memory and overfits sooner.',
  },
  alpha: {
    kind: 'number', default: 16, int: false, min: 0, minExclusive: true, max: 1024, presets: { quick: 8, thorough: 32 },
    label: 'Alpha', group: 'adapter', flag: 'alpha',
    explain: 'Scale of the update: the adapter is multiplied by alpha / rank (alpha / √rank with rsLoRA).',
  },
  dropout: {
    kind: 'number', default: 0.05, int: false, min: 0, max: 1, maxExclusive: true, step: 0.01,
    label: 'Dropout', group: 'adapter', flag: 'dropout',
    explain: 'Randomly drops adapter inputs while training, against overfitting small datasets.',
  },
  rslora: {
    kind: 'boolean', default: false,
    label: 'rsLoRA scaling', group: 'adapter', flag: 'rslora',
    explain: 'Rank-stabilised scaling (alpha / √rank): keeps training stable when you raise the rank.',
  },
  targets: {
    kind: 'list', default: LORA_TARGETS, choices: LORA_TARGETS, item: 'module', presets: { quick: ['q_proj', 'v_proj'] },
    label: 'LoRA targets', group: 'targets', flag: 'targets',
    explain: 'Which linear layers get an adapter. All seven is the usual choice; q/v only is lighter.',
  },
  learningRate: {
    kind: 'number', default: 2e-4, int: false, min: 0, minExclusive: true, max: 0.1, step: 1e-5, presets: { thorough: 1e-4 },
    label: 'Learning rate', group: 'optimizer', flag: 'lr',
    explain: 'Step size of AdamW. 1e-4 to 3e-4 is typical for LoRA; lower it if the loss jumps.',
  },
  warmupSteps: {
    kind: 'number', default: 10, int: true, min: 0, max: 100_000, unit: 'steps', presets: { thorough: 30 },
    label: 'Warm-up steps', group: 'optimizer', flag: 'warmup',
    explain: 'Steps over which the learning rate ramps up from zero, to avoid an early jolt.',
  },
  schedule: {
    kind: 'choice', default: 'cosine', choices: SCHEDULES,
    label: 'Schedule', group: 'optimizer', flag: 'schedule',
    explain: 'How the learning rate changes after warm-up: constant, linear decay or cosine decay.',
  },
  epochs: {
    kind: 'number', default: 2, int: true, min: 1, max: 100, presets: { quick: 1, thorough: 3 },
    label: 'Epochs', group: 'length', flag: 'epochs',
    explain: 'Passes over the training set. Two or three is typical; more overfits small data.',
  },
  maxSteps: {
    kind: 'number', default: 0, int: true, min: 0, max: STEPS, unit: 'steps',
    label: 'Max steps', group: 'length', flag: 'steps',
    explain: 'Stop after this many optimizer steps (0 = run the epochs).',
  },
  batchSize: {
    kind: 'number', default: 4, int: true, min: 1, max: 256, unit: 'sequences',
    label: 'Batch size', group: 'batches', flag: 'batch',
    explain: 'Sequences per forward pass (for DPO/ORPO: pairs, two sequences each). Limited by GPU memory.',
  },
  gradAccum: {
    kind: 'number', default: 2, int: true, min: 1, max: 256, presets: { quick: 1 },
    label: 'Gradient accumulation', group: 'batches', flag: 'grad-accum',
    explain: 'Batches whose gradients are summed before each optimizer step: effective batch = batch × this.',
  },
  seqLen: {
    kind: 'number', default: 512, int: true, min: 8, max: 32_768, unit: 'tokens', presets: { quick: 256, thorough: 1024 },
    label: 'Sequence length', group: 'batches', flag: 'seq-len',
    explain: 'Longest sequence in tokens; longer examples are truncated. Memory grows with it.',
  },
  valSplit: {
    kind: 'number', default: 0.1, int: false, min: 0, max: 0.5, step: 0.01,
    label: 'Validation split', group: 'evaluation', flag: 'val-split',
    explain: 'Share of examples held out to measure validation loss (never trained on).',
  },
  evalEvery: {
    kind: 'number', default: 25, int: true, min: 1, max: STEPS, unit: 'steps', presets: { quick: 20 },
    label: 'Evaluate every', group: 'evaluation', flag: 'eval-every',
    explain: 'Measure validation loss every this many steps.',
  },
  sampleEvery: {
    kind: 'number', default: 50, int: true, min: 0, max: STEPS, unit: 'steps', presets: { quick: 40 },
    label: 'Sample every', group: 'evaluation', flag: null, cliNote: 'the CLI generates no samples while it trains',
    explain: 'Generate answers to held-out prompts every this many steps (0 = never).',
  },
  checkpointEvery: {
    kind: 'number', default: 25, int: true, min: 1, max: STEPS, unit: 'steps',
    label: 'Checkpoint every', group: 'evaluation', flag: 'checkpoint-every',
    explain: 'Save a resumable checkpoint every this many steps.',
  },
  seed: {
    kind: 'number', default: 42, int: true, min: 0, max: 2 ** 31 - 1,
    label: 'Seed', group: 'evaluation', flag: 'seed',
    explain: 'Makes shuffling, the validation split and initialisation repeatable.',
  },
  lossMode: {
    kind: 'choice', default: 'all-assistant', choices: LOSS_MODES,
    label: 'Train on', group: 'loss', flag: 'loss-mode',
    explain: 'Which tokens the model learns to produce: every assistant reply (usual), only the last one (multi-turn data where earlier replies are context), or the whole conversation including the prompts.',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
/** Declaration order: the order of the Train screen's fields and of `train --help`. */
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

type ValueOf<S> = S extends { kind: 'number' }
  ? number
  : S extends { kind: 'boolean' }
    ? boolean
    : S extends { kind: 'choice'; choices: readonly { id: infer T }[] }
      ? T
      : S extends { kind: 'list'; choices: readonly (infer T)[] }
        ? T[]
        : never;

/** Training settings as the studio shows and stores them and the CLI sets them. */
export type TrainSettings = { -readonly [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };
export type Schedule = TrainSettings['schedule'];
export type LossMode = TrainSettings['lossMode'];
export type ObjectiveKind = TrainSettings['objective'];
/** Whether the objective trains on preference pairs (prompt, chosen, rejected). */
export const isPreferenceObjective = (o: ObjectiveKind): o is 'dpo' | 'orpo' => o !== 'sft';
/**
 * Why the objective cannot train a dataset, saying what the file holds and what to do; null when
 * it can. The session refuses such data with it; the Train and Data screens say it before a run.
 */
export function objectiveDataProblem(data: { pairs: boolean; count: number }, objective: ObjectiveKind): string | null {
  if (!objectiveOffReason(objective, data.pairs)) return null;
  if (data.pairs) {
    return (
      `the dataset holds ${data.count} preference pairs (prompt, chosen, rejected), and supervised fine-tuning needs one answer per example: ` +
      'choose the DPO or ORPO objective, or convert the rows to prompt/completion to train on the chosen answers'
    );
  }
  return `${objectiveName(objective)} trains on preference pairs (prompt, chosen, rejected), and the dataset holds ${data.count} examples with one answer each: use the SFT objective, or a file with chosen and rejected answers`;
}
/** Why an objective cannot train data of this kind, in short (the Train screen's disabled choice); null when it can. */
export function objectiveOffReason(objective: ObjectiveKind, pairs: boolean): string | null {
  if (pairs === isPreferenceObjective(objective)) return null;
  return pairs
    ? `${objectiveName(objective)} needs one answer per example, and the dataset holds preference pairs`
    : `${objectiveName(objective)} needs preference pairs (prompt, chosen, rejected), and the dataset holds one answer per example`;
}
/** The objectives that cannot train data of this kind, each with why (the Train screen disables them). */
export function objectivesOffFor(pairs: boolean): Partial<Record<ObjectiveKind, string>> {
  const off: Partial<Record<ObjectiveKind, string>> = {};
  for (const o of OBJECTIVES) {
    const why = objectiveOffReason(o.id, pairs);
    if (why) off[o.id] = why;
  }
  return off;
}
/**
 * The objective the Train screen switches to when a dataset is chosen that the current one cannot
 * train: DPO for pairs (the usual choice, TRL's too), SFT for single answers; null when it fits.
 */
export function objectiveForData(pairs: boolean, objective: ObjectiveKind): ObjectiveKind | null {
  if (!objectiveOffReason(objective, pairs)) return null;
  return pairs ? 'dpo' : 'sft';
}
/** The settings that decide memory (a preference objective doubles the rows: two sequences per pair). */
export type MemorySettings = Pick<TrainSettings, 'rank' | 'targets' | 'batchSize' | 'seqLen'> & Partial<Pick<TrainSettings, 'objective'>>;
/** Rows of a micro-batch: batchSize sequences, or batchSize pairs of two (chosen, rejected) as TRL counts them. */
export function batchRows(s: Pick<TrainSettings, 'batchSize'> & Partial<Pick<TrainSettings, 'objective'>>): number {
  return s.objective && isPreferenceObjective(s.objective) ? 2 * s.batchSize : s.batchSize;
}

/** The declaration of one setting, widened (for code that walks all of them). */
export const settingSpec = (key: SettingKey): SettingSpec => SETTINGS[key];

function settingsOf(pick: (spec: SettingSpec, key: SettingKey) => unknown): TrainSettings {
  const s: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) {
    const v = pick(settingSpec(k), k);
    s[k] = Array.isArray(v) ? [...v] : v;
  }
  return s as TrainSettings;
}

export const PRESETS = Object.fromEntries(
  (Object.keys(PRESET_INFO) as PresetId[]).map((id) => [id, { ...PRESET_INFO[id], settings: settingsOf((spec) => spec.presets?.[id] ?? spec.default) }]),
) as Record<PresetId, { label: string; hint: string; settings: TrainSettings }>;

export const DEFAULT_SETTINGS: TrainSettings = settingsOf((spec) => spec.default);

/** One-line explanations shown next to every control. */
export const EXPLAIN = Object.fromEntries(SETTING_KEYS.map((k) => [k, SETTINGS[k].explain])) as Record<SettingKey, string>;

const quote = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? v.join(',') : String(v));

/** What a value of the setting must be, as a phrase ("a whole number from 1 to 256"). */
export function requirement(spec: SettingSpec): string {
  switch (spec.kind) {
    case 'number': {
      const unit = spec.unit ? ` ${spec.unit}` : '';
      if (spec.int) return `a whole number from ${spec.min} to ${spec.max}${unit}`;
      if (spec.minExclusive && spec.maxExclusive) return `a number between ${spec.min} and ${spec.max}${unit} (both excluded)`;
      if (spec.minExclusive) return `a number above ${spec.min}, at most ${spec.max}${unit}`;
      if (spec.maxExclusive) return `a number from ${spec.min} up to (not including) ${spec.max}${unit}`;
      return `a number from ${spec.min} to ${spec.max}${unit}`;
    }
    case 'boolean':
      return 'on or off';
    case 'choice':
      return `one of ${spec.choices.map((c) => c.id).join(', ')}`;
    case 'list':
      return `one or more of ${spec.choices.join(', ')}, each once`;
  }
}

/** Whether `value` is allowed for the setting. */
export function isValidSetting(spec: SettingSpec, value: unknown): boolean {
  switch (spec.kind) {
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value) || (spec.int && !Number.isInteger(value))) return false;
      const aboveMin = spec.minExclusive ? value > spec.min : value >= spec.min;
      const belowMax = spec.maxExclusive ? value < spec.max : value <= spec.max;
      return aboveMin && belowMax;
    }
    case 'boolean':
      return typeof value === 'boolean';
    case 'choice':
      return spec.choices.some((c) => c.id === value);
    case 'list':
      return Array.isArray(value) && value.length > 0 && new Set(value).size === value.length && value.every((x) => spec.choices.includes(x as string));
  }
}

/** Why the setting does nothing under the objective ("applies to DPO only, and the objective is ORPO"), or null when it applies. */
export function inapplicableReason(key: SettingKey, objective: ObjectiveKind): string | null {
  const only = settingSpec(key).onlyFor;
  if (!only || only.includes(objective)) return null;
  return `applies to ${only.map(objectiveName).join(' and ')} only, and the objective is ${objectiveName(objective)}`;
}

/**
 * The settings as a run with their objective uses them: a setting of another objective (β under
 * ORPO) goes back to its default, so a run record never claims a value that had no effect.
 */
export function forObjective(s: TrainSettings): TrainSettings {
  const out: Record<string, unknown> = { ...s };
  for (const k of SETTING_KEYS) if (inapplicableReason(k, s.objective)) out[k] = DEFAULT_SETTINGS[k];
  return out as TrainSettings;
}

/**
 * Problems with the settings, keyed by setting: "<label> must be <requirement> (got <value>)".
 * Empty when they can run. A setting of another objective is not checked (it is not used).
 */
export function validateSettings(s: TrainSettings): Partial<Record<SettingKey, string>> {
  const e: Partial<Record<SettingKey, string>> = {};
  for (const k of SETTING_KEYS) {
    const spec = settingSpec(k);
    if (spec.onlyFor && !spec.onlyFor.includes(s.objective)) continue;
    const v: unknown = s[k];
    if (!isValidSetting(spec, v)) e[k] = `${spec.label} must be ${requirement(spec)}${v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? '' : ` (got ${quote(v)})`}`;
  }
  return e;
}

/** Whether a stored value has the setting's type (its range is the validator's business). */
function hasSettingType(spec: SettingSpec, v: unknown): boolean {
  switch (spec.kind) {
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'choice':
    case 'list':
      // A choice that no longer exists would pass for a valid type: take the default instead.
      return isValidSetting(spec, v);
  }
}

/**
 * Settings stored by an older version (the Train screen's saved settings, a run record from
 * before a field existed), completed with defaults: a missing field, or one of the wrong type,
 * gets its default; fields no longer declared are dropped.
 */
export function withDefaults(stored: unknown): TrainSettings {
  const old = stored !== null && typeof stored === 'object' ? (stored as Record<string, unknown>) : {};
  return settingsOf((spec, k) => (hasSettingType(spec, old[k]) ? old[k] : spec.default));
}

/** LoRA scale applied to B·A (the engine's rule: alpha / r, or alpha / √r with rsLoRA). */
export function loraScale(s: Pick<TrainSettings, 'alpha' | 'rank' | 'rslora'>): number {
  return loraScalingOf({ r: s.rank, alpha: s.alpha, useRslora: s.rslora });
}
