// What `train` records beside the adapter it writes (training_settings.json), so the same run can
// be written out later as an Axolotl or TRL recipe. PEFT ignores files it does not know, so the
// adapter folder stays a plain PEFT adapter. Pure: the CLI reads and writes the bytes.
import type { WeightStorage } from '../../engine/model/weights';
import type { PreferenceObjective } from '../../engine/gpu/kernels/preference';
import { SETTING_KEYS, validateSettings, withDefaults, type TrainSettings } from '../settings';

export const TRAINING_SETTINGS_FILE = 'training_settings.json';
const FORMAT = 'lora-studio/training-settings';
const VERSION = 1;

/** The objective a run trained with, and its own parameters. */
export type Objective = { kind: 'sft' } | PreferenceObjective;

/** The run's objective as the settings declare it. */
export function objectiveOf(s: Pick<TrainSettings, 'objective' | 'beta' | 'labelSmoothing' | 'orpoLambda'>): Objective {
  switch (s.objective) {
    case 'sft':
      return { kind: 'sft' };
    case 'dpo':
      return { kind: 'dpo', beta: s.beta, labelSmoothing: s.labelSmoothing };
    case 'orpo':
      return { kind: 'orpo', lambda: s.orpoLambda };
  }
}

/** Everything about a finished run that decides what it trained, beyond the adapter's weights. */
export interface RunRecord {
  objective: Objective;
  /** Every TrainSettings field, as the run used them (sequence length resolved, adapter shape adopted). */
  settings: TrainSettings;
  /** Engine options that change the result (not memory-only choices). */
  engine: {
    packing: boolean;
    maxGradNorm: number;
    weightDecay: number;
    /** How the frozen base weights were stored on the GPU, as resolved for the run. */
    weights: WeightStorage;
    /** Activation recomputation as requested: memory only, recorded for gradient checkpointing. */
    recompute: boolean | 'selective' | 'auto';
  };
  /** Which rows of the dataset file trained (the CLI's --exclude-invalid and --dedupe). */
  data: { file: string; sha256: string; excludeInvalid: boolean; dedupe: boolean; examples: number };
  base: {
    id: string;
    revision: string | null;
    /** A quantized (4-bit) base; the engine cannot train one yet, so always null today. */
    quantization: null;
  };
}

export function encodeRunRecord(r: RunRecord): string {
  return JSON.stringify({ format: FORMAT, version: VERSION, ...r }, null, 2) + '\n';
}

/** Reads a record; throws a message naming what is wrong. Settings from an older version get defaults. */
export function decodeRunRecord(text: string): RunRecord {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`${TRAINING_SETTINGS_FILE} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const o = (j ?? {}) as Partial<RunRecord> & { format?: unknown; version?: unknown };
  if (o.format !== FORMAT || o.version !== VERSION) throw new Error(`${TRAINING_SETTINGS_FILE}: not a LoRA Studio training record of version ${VERSION}`);
  const settings = withDefaults(o.settings);
  const bad = validateSettings(settings);
  const first = SETTING_KEYS.find((k) => bad[k]);
  if (first) throw new Error(`${TRAINING_SETTINGS_FILE}: ${bad[first]}`);
  if (!o.engine || !o.data || !o.base || !o.objective) throw new Error(`${TRAINING_SETTINGS_FILE}: missing objective, engine, data or base`);
  // The settings hold the objective's parameters; a record from before they existed is SFT in both places.
  if (o.objective.kind !== settings.objective) throw new Error(`${TRAINING_SETTINGS_FILE}: the objective (${String(o.objective.kind)}) is not the settings' (${settings.objective})`);
  return { objective: objectiveOf(settings), settings, engine: o.engine, data: o.data, base: o.base };
}
