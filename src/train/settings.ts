// Training settings as the studio shows and stores them and the CLI sets them: presets, one-line
// explanations and validation. Pure data, shared by the training session, the CLI, the worker,
// persist/ and (through src/worker/settings.ts) the UI.

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];
export type Schedule = 'constant' | 'linear' | 'cosine';
/** Which tokens the loss is computed on (the data pipeline's LossMode). */
export type LossMode = 'all-assistant' | 'last-assistant' | 'all';
export const LOSS_MODES: readonly { id: LossMode; label: string }[] = [
  { id: 'all-assistant', label: 'all assistant turns' },
  { id: 'last-assistant', label: 'last assistant turn only' },
  { id: 'all', label: 'everything, prompts included' },
];

export interface TrainSettings {
  rank: number;
  alpha: number;
  dropout: number;
  targets: LoraTarget[];
  rslora: boolean;
  learningRate: number;
  schedule: Schedule;
  warmupSteps: number;
  epochs: number;
  /** 0: as many steps as `epochs` take. */
  maxSteps: number;
  batchSize: number;
  gradAccum: number;
  seqLen: number;
  seed: number;
  /** Fraction of examples held out for validation loss. */
  valSplit: number;
  evalEvery: number;
  /** Generate on held-out prompts every this many steps (0: never). */
  sampleEvery: number;
  checkpointEvery: number;
  /** Tokens the loss is computed on. */
  lossMode: LossMode;
}

export type PresetId = 'quick' | 'balanced' | 'thorough';

const BASE: TrainSettings = {
  rank: 8,
  alpha: 16,
  dropout: 0.05,
  targets: [...LORA_TARGETS],
  rslora: false,
  learningRate: 2e-4,
  schedule: 'cosine',
  warmupSteps: 10,
  epochs: 2,
  maxSteps: 0,
  batchSize: 4,
  gradAccum: 2,
  seqLen: 512,
  seed: 42,
  valSplit: 0.1,
  evalEvery: 25,
  sampleEvery: 50,
  checkpointEvery: 25,
  lossMode: 'all-assistant',
};

export const PRESETS: Record<PresetId, { label: string; hint: string; settings: TrainSettings }> = {
  quick: {
    label: 'Quick try',
    hint: 'A few minutes: attention only, short sequences. Tells you whether the data teaches anything.',
    settings: { ...BASE, rank: 4, alpha: 8, targets: ['q_proj', 'v_proj'], epochs: 1, seqLen: 256, batchSize: 4, gradAccum: 1, evalEvery: 20, sampleEvery: 40 },
  },
  balanced: { label: 'Balanced', hint: 'All seven linear layers, rank 8: a good default for style and format.', settings: BASE },
  thorough: {
    label: 'Thorough',
    hint: 'Rank 16, three epochs, longer sequences. Needs more memory and time.',
    settings: { ...BASE, rank: 16, alpha: 32, epochs: 3, seqLen: 1024, learningRate: 1e-4, warmupSteps: 30 },
  },
};

export const DEFAULT_SETTINGS: TrainSettings = PRESETS.balanced.settings;

/** One-line explanations shown next to every control. */
export const EXPLAIN: Record<keyof TrainSettings, string> = {
  rank: 'Size of the low-rank update. Higher learns more, uses more memory and overfits sooner.',
  alpha: 'Scale of the update: the adapter is multiplied by alpha / rank (alpha / √rank with rsLoRA).',
  dropout: 'Randomly drops adapter inputs while training, against overfitting small datasets.',
  targets: 'Which linear layers get an adapter. All seven is the usual choice; q/v only is lighter.',
  rslora: 'Rank-stabilised scaling (alpha / √rank): keeps training stable when you raise the rank.',
  learningRate: 'Step size of AdamW. 1e-4 to 3e-4 is typical for LoRA; lower it if the loss jumps.',
  schedule: 'How the learning rate changes after warm-up: constant, linear decay or cosine decay.',
  warmupSteps: 'Steps over which the learning rate ramps up from zero, to avoid an early jolt.',
  epochs: 'Passes over the training set. Two or three is typical; more overfits small data.',
  maxSteps: 'Stop after this many optimizer steps (0 = run the epochs).',
  batchSize: 'Sequences per forward pass. Limited by GPU memory.',
  gradAccum: 'Batches whose gradients are summed before each optimizer step: effective batch = batch × this.',
  seqLen: 'Longest sequence in tokens; longer examples are truncated. Memory grows with it.',
  seed: 'Makes shuffling, the validation split and initialisation repeatable.',
  valSplit: 'Share of examples held out to measure validation loss (never trained on).',
  evalEvery: 'Measure validation loss every this many steps.',
  sampleEvery: 'Generate answers to held-out prompts every this many steps (0 = never).',
  checkpointEvery: 'Save a resumable checkpoint every this many steps.',
  lossMode: 'Which tokens the model learns to produce: every assistant reply (usual), only the last one (multi-turn data where earlier replies are context), or the whole conversation including the prompts.',
};

/** Problems with the settings, keyed by field; empty when they can run. */
export function validateSettings(s: TrainSettings): Partial<Record<keyof TrainSettings, string>> {
  const e: Partial<Record<keyof TrainSettings, string>> = {};
  const int = (k: keyof TrainSettings, lo: number, hi: number) => {
    const v = s[k] as number;
    if (!Number.isInteger(v) || v < lo || v > hi) e[k] = `a whole number from ${lo} to ${hi}`;
  };
  int('rank', 1, 256);
  if (!(s.alpha > 0 && s.alpha <= 1024)) e.alpha = 'a number above 0, at most 1024';
  if (!(s.dropout >= 0 && s.dropout < 1)) e.dropout = 'from 0 up to (not including) 1';
  if (s.targets.length === 0) e.targets = 'choose at least one layer';
  if (!(s.learningRate > 0 && s.learningRate <= 0.1)) e.learningRate = 'above 0, at most 0.1';
  int('warmupSteps', 0, 100_000);
  int('epochs', 1, 100);
  int('maxSteps', 0, 1_000_000);
  int('batchSize', 1, 256);
  int('gradAccum', 1, 256);
  int('seqLen', 8, 32_768);
  int('seed', 0, 2 ** 31 - 1);
  if (!(s.valSplit >= 0 && s.valSplit <= 0.5)) e.valSplit = 'from 0 to 0.5';
  int('evalEvery', 1, 1_000_000);
  int('sampleEvery', 0, 1_000_000);
  int('checkpointEvery', 1, 1_000_000);
  if (!LOSS_MODES.some((m) => m.id === s.lossMode)) e.lossMode = `one of ${LOSS_MODES.map((m) => m.id).join(', ')}`;
  return e;
}

/** Optimizer steps a run will take for a training set of `trainExamples` (packed one per sequence). */
export function plannedSteps(s: TrainSettings, trainExamples: number): number {
  if (s.maxSteps > 0) return s.maxSteps;
  const perStep = s.batchSize * s.gradAccum;
  return Math.max(1, Math.ceil(trainExamples / perStep) * s.epochs);
}

/** LoRA scale applied to B·A: alpha / r, or alpha / √r with rsLoRA (PEFT's definition). */
/** Settings stored by an older version (or a run record from before a field existed), completed with defaults. */
export function withDefaults(s: Partial<TrainSettings> | null | undefined): TrainSettings {
  return { ...DEFAULT_SETTINGS, ...(s ?? {}) };
}

export function loraScale(s: Pick<TrainSettings, 'alpha' | 'rank' | 'rslora'>): number {
  return s.rslora ? s.alpha / Math.sqrt(s.rank) : s.alpha / s.rank;
}
