// What the studio keeps in IndexedDB. Plain data (structured-clone friendly), shared by the
// worker (the only writer) and the UI stores (which list and read them).
import type { TrainSettings } from '../train/settings';
import type { EngineOptions } from '../train/session';
import type { RunRecord as TrainingRecord } from '../train/recipe/run-record';
import type { EvaluationResult } from '../eval/compare';
import type { PreferenceMetrics } from '../train/objectives';

export type { PreferenceMetrics };

export interface DatasetRecord {
  id: string;
  name: string;
  /** The file exactly as the user gave it: re-parsed in the worker when a run starts. */
  bytes: ArrayBuffer;
  size: number;
  createdAt: number;
  /** The format the user confirmed (detected or overridden). */
  format: string;
  /** Column/key mapping the user chose, when keys were not standard. */
  mapping: unknown;
  /** Number of valid examples, and of invalid rows the user agreed to exclude. */
  examples: number;
  excludedRows: number;
  /** Whether the examples are preference pairs (prompt, chosen, rejected); absent when saved by an older version. */
  pairs?: boolean;
}

export type RunStatus = 'running' | 'paused' | 'stopped' | 'completed' | 'failed' | 'interrupted';

export interface ModelRef {
  /** Hub repo id ("HuggingFaceTB/SmolLM2-135M-Instruct") or a local folder's name. */
  id: string;
  source: 'hub' | 'local';
  revision?: string;
  /** For a local folder: the Hugging Face id of the model it holds (exports name it as the base). */
  hubId?: string;
  /** A Hub GGUF repository's file, with the original model its tokenizer comes from (exports name that model as the base). */
  gguf?: { file: string; tokenizerRepo: string };
}

export interface RunRecord {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
  status: RunStatus;
  datasetId: string;
  datasetName: string;
  model: ModelRef;
  settings: TrainSettings;
  /** The base weight format asked for on the Model screen ('auto' resolved per device when the run opens; absent on older runs: 'auto'). */
  weights?: EngineOptions['weightStorage'];
  /** Held-out prompts answered every `sampleEvery` steps. */
  samplePrompts?: string[];
  notes: string;
  step: number;
  totalSteps: number;
  /** Step of the newest checkpoint, or null before the first one. */
  checkpointStep: number | null;
  adapterId: string | null;
  error: string | null;
  /**
   * What the CLI's training_settings.json holds for this run (objective, settings, engine options,
   * data provenance, base), for "Export as recipe". Absent on runs stored before it was kept.
   */
  trainingRecord?: TrainingRecord;
  /** Newest measured losses (absent on runs stored before they were kept, or before step 1). */
  lastTrainLoss?: number;
  lastValLoss?: number;
}

/** One optimizer step's numbers. Missing fields were not measured at that step. */
export interface MetricPoint {
  runId: string;
  step: number;
  time: number;
  trainLoss?: number;
  valLoss?: number;
  lr?: number;
  gradNorm?: number;
  tokensPerSec?: number;
  /** DPO/ORPO: TRL's metrics (rewards/chosen, …, logps/rejected) of the step's training pairs. */
  preference?: PreferenceMetrics;
  /** The same on the held-out pairs, at the steps that were evaluated. */
  valPreference?: PreferenceMetrics;
}

export interface SampleRecord {
  runId: string;
  step: number;
  prompt: string;
  output: string;
  /** Why the sample could not be generated (the run went on). */
  error?: string;
}

export interface CheckpointRecord {
  runId: string;
  step: number;
  createdAt: number;
  /** The trainer's checkpoint object (LoRA weights, AdamW moments as typed arrays, data position); structured-cloned by IndexedDB. */
  state: unknown;
}

export interface AdapterFile {
  name: string;
  bytes: ArrayBuffer;
}

export interface AdapterRecord {
  id: string;
  runId: string | null;
  name: string;
  createdAt: number;
  baseModel: string;
  rank: number;
  alpha: number;
  targets: string[];
  /**
   * What trained it (sft, dpo, orpo), from its run record; absent for an adapter imported without
   * one and for adapters stored before it was kept.
   */
  objective?: TrainSettings['objective'];
  /** PEFT files: adapter_config.json and adapter_model.safetensors, and the run record (training_settings.json) where there is one. */
  files: AdapterFile[];
}

/** Where an evaluation's items came from. */
export type EvalSource = { kind: 'validation' } | { kind: 'dataset'; datasetId: string; datasetName: string };

/** A held-out evaluation of a run's systems (base, prompted baseline, its adapter, others), stored with the run. */
export interface EvaluationRecord {
  id: string;
  runId: string;
  createdAt: number;
  source: EvalSource;
  /** What was asked for: metric ids, decoding and the prompted baseline (shots: drawn; fewShotText: written, absent in records before it was stored). */
  settings: { metrics: string[]; maxNewTokens: number; shots: number; systemPrompt: string; fewShotText?: string; seed: number };
  result: EvaluationResult;
}
