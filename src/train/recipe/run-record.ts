// What `train` records beside the adapter it writes (training_settings.json), so the same run can
// be written out later as an Axolotl or TRL recipe. PEFT ignores files it does not know, so the
// adapter folder stays a plain PEFT adapter. Pure: the CLI reads and writes the bytes.
import { WEIGHT_STORAGES, type WeightStorage } from '../../engine/model/weights';
import type { PreferenceObjective } from '../../engine/gpu/kernels/preference';
import { selectTrainingExamples, type ParseResult } from '../../data/parse';
import type { Example } from '../../data/types';
import type { EngineOptions } from '../session';
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
    /** How the frozen base weights were stored on the GPU, as resolved for the run (q8/q4: a quantized base, QLoRA). */
    weights: WeightStorage;
    /** Activation recomputation as requested: memory only, recorded for gradient checkpointing. */
    recompute: boolean | 'selective' | 'auto';
  };
  /** Which rows of the dataset file trained (the CLI's --exclude-invalid and --dedupe). */
  data: { file: string; sha256: string; excludeInvalid: boolean; dedupe: boolean; examples: number };
  /** The base model; whether it was quantized for training is engine.weights. */
  base: { id: string; revision: string | null };
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
  const o = (j ?? {}) as { format?: unknown; version?: unknown };
  if (o.format !== FORMAT || o.version !== VERSION) throw new Error(`${TRAINING_SETTINGS_FILE}: not a LoRA Studio training record of version ${VERSION}`);
  return storedRunRecord(j, TRAINING_SETTINGS_FILE);
}

/**
 * A record as this version reads it, from the CLI's file or the studio's database (`where` names
 * it in errors). Records written before a setting existed (the objective and its beta/lambda, for
 * one) get its default, as a resumed run keeps the record it was started with; the base's old
 * always-null `quantization` is dropped (engine.weights says whether the base was quantized).
 */
export function storedRunRecord(stored: unknown, where: string): RunRecord {
  const o = (stored ?? {}) as Partial<RunRecord>;
  const settings = withDefaults(o.settings);
  const bad = validateSettings(settings);
  const first = SETTING_KEYS.find((k) => bad[k]);
  if (first) throw new Error(`${where}: ${bad[first]}`);
  if (!o.engine || !o.data || !o.base || !o.objective) throw new Error(`${where}: missing objective, engine, data or base`);
  // The settings hold the objective's parameters; a record from before they existed is SFT in both places.
  if (o.objective.kind !== settings.objective) throw new Error(`${where}: the objective (${String(o.objective.kind)}) is not the settings' (${settings.objective})`);
  if (!WEIGHT_STORAGES.includes(o.engine.weights)) throw new Error(`${where}: unknown weight storage "${String(o.engine.weights)}" (expected ${WEIGHT_STORAGES.join(', ')})`);
  return { objective: objectiveOf(settings), settings, engine: o.engine, data: o.data, base: { id: o.base.id, revision: o.base.revision ?? null } };
}

/**
 * The record as the file that goes beside an adapter (PEFT ignores it): the CLI's `train` folder,
 * and the studio's stored adapter, so its PEFT zip, folder and GGUF exports say which objective
 * (and settings) made them.
 */
export function runRecordFile(r: RunRecord): { name: string; bytes: Uint8Array } {
  return { name: TRAINING_SETTINGS_FILE, bytes: new TextEncoder().encode(encodeRunRecord(r)) };
}

/** The run record among an adapter's files, or null when it has none (an adapter from another tool); throws on a broken one. */
export function adapterRunRecord(files: readonly { name: string; bytes: Uint8Array | ArrayBuffer }[]): RunRecord | null {
  const f = files.find((x) => x.name === TRAINING_SETTINGS_FILE);
  return f ? decodeRunRecord(new TextDecoder().decode(f.bytes)) : null;
}

/** What a run was given, beside its session: which rows it selected and which base it trained. */
export interface RunRecordSource {
  data: RunRecord['data'];
  base: { id: string; revision?: string | null };
}

/** The session's choices a record keeps: its settings, engine options and the weight storage it resolved. */
export interface RecordedSession {
  readonly settings: TrainSettings;
  readonly engine: EngineOptions;
  readonly weightStorage: WeightStorage;
}

/**
 * The one way a run record is made: the CLI's `train` (for training_settings.json) and the studio's
 * worker (stored with the run) both call this with the session they opened, so the two hold the same.
 */
export function buildRunRecord(session: RecordedSession, src: RunRecordSource): RunRecord {
  const bad = validateSettings(session.settings);
  const first = SETTING_KEYS.find((k) => bad[k]);
  if (first) throw new Error(`run record: ${bad[first]}`);
  if (!/^[0-9a-f]{64}$/.test(src.data.sha256)) throw new Error(`run record: the dataset's SHA-256 must be 64 lowercase hex digits, got "${src.data.sha256}"`);
  if (!Number.isInteger(src.data.examples) || src.data.examples < 1) throw new Error(`run record: a run trains on at least one example, got ${src.data.examples}`);
  if (!src.base.id.trim()) throw new Error('run record: the base model id is empty');
  const e = session.engine;
  return {
    objective: objectiveOf(session.settings),
    settings: { ...session.settings, targets: [...session.settings.targets] },
    // An absent recompute means none (engine/model/llama.ts). Preference pairs are never packed (a pair's two rows train together).
    engine: { packing: e.packing && session.settings.objective === 'sft', maxGradNorm: e.maxGradNorm, weightDecay: e.weightDecay, weights: session.weightStorage, recompute: e.recompute ?? false },
    data: { ...src.data },
    base: { id: src.base.id, revision: src.base.revision ?? null },
  };
}

/**
 * The examples a record's run trained on, from its dataset file: the same file (by SHA-256, checked
 * before it is parsed), selected with the run's exclusions and dedupe, and as many as it trained.
 * The CLI's `export` and the studio's "Export as recipe" both read their rows here.
 */
export async function recordedExamples(run: RunRecord, file: { sha256: string; parse: () => Promise<ParseResult> }): Promise<Example[]> {
  if (file.sha256 !== run.data.sha256) throw new Error(`not the file the run trained on (${run.data.file}; its SHA-256 differs)`);
  const examples = selectTrainingExamples(await file.parse(), { excludeInvalid: run.data.excludeInvalid, removeDuplicates: run.data.dedupe });
  if (examples.length !== run.data.examples) throw new Error(`${examples.length} examples selected, the run trained on ${run.data.examples}`);
  return examples;
}
