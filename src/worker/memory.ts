// "Will it fit?": the GPU memory a training run with these settings allocates (the engine's own
// plan, planTrainingMemory) for each weight format, the format the studio trains with (the one
// rule chooseWeightStorage, as the CLI's --weights), judged against this adapter's limits.
// WebGPU does not tell how much memory a GPU has, so the verdict separates hard limits (a
// buffer too big) from a size we can only compare with typical GPUs.
import type { ActivationKind } from '../engine/model/arena';
import { parameterCount, parseModelConfig } from '../engine/model/config';
import { dtypeBytes } from '../engine/model/dtype';
import { AUTO_BUDGET_BYTES, WEIGHT_STORAGES, chooseWeightStorage, keptTensorsOf, type WeightStorage, type WeightsFlag } from '../engine/model/weights';
import { planTrainingMemory, trainingWeightFit, type PlanLimits, type TrainingMemoryPlan } from '../train/memory-plan';
import { DEFAULT_ENGINE_OPTIONS } from '../train/session';
import { isPreferenceObjective, type MemorySettings } from './settings';

/** One weight format's plan at these settings, or why it cannot run on this adapter. */
export interface FormatPlan {
  storage: WeightStorage;
  /** Everything the run allocates with this format, or null where it cannot run. */
  totalBytes: number | null;
  weightBytes: number | null;
  problem: string | null;
}

export interface MemoryReport extends TrainingMemoryPlan {
  /** What was asked for ('auto' or a format) and why `storage` is what a run uses. */
  requested: WeightsFlag;
  reason: string;
  /** Every format, most precise first (the Model screen's choice). */
  formats: FormatPlan[];
  /** The checkpoint a Hub download fetches (parameters × the published dtype; quantizing happens on load, so every format downloads this). */
  downloadBytes: number;
  /** Why the model is not downloaded at all (no weight format runs on this GPU), or null. */
  downloadRefusal: string | null;
  /** 'no': a hard limit is exceeded. 'likely': fits typical 4 GiB+ GPUs. 'tight': may not fit integrated GPUs. */
  verdict: 'likely' | 'tight' | 'no';
  notes: string[];
}

export interface EstimateDevice extends PlanLimits {
  /** Whether the adapter has shader-f16 (f16 storage). */
  f16: boolean;
}

/** What the download holds beyond the config: some checkpoints (Qwen3) store lm_head.weight though tie_word_embeddings is true. */
export interface CheckpointFacts {
  storesTiedHead?: boolean;
  /** A GGUF base: HF tensor name → ggml type (its quantized tensors are planned as their blocks) and the file's size (the download). */
  gguf?: { types: Record<string, string>; bytes: number };
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const fmt = (b: number) => (b >= GiB ? `${(b / GiB).toFixed(1)} GiB` : `${Math.round(b / MiB)} MiB`);

/** Memory a typical integrated GPU lends a browser tab before things get tight ('auto' aims under it too). */
export const COMFORTABLE_BYTES = AUTO_BUDGET_BYTES;

const RECOMPUTE_TEXT = {
  none: 'every activation is kept for the backward',
  selective: 'norms and SwiGLU outputs are recomputed in the backward to save memory',
  full: 'each layer is recomputed in the backward (the least memory, about a third more compute)',
} as const;

/** What each kind of activation buffer holds (arena.ts ActivationKind), for the breakdown note. */
const ACTIVATION_TEXT: Record<ActivationKind, string> = {
  residual: 'residual stream between layers',
  kept: 'kept per layer for the backward',
  layerSet: 'one layer recomputed',
  gradients: 'gradient scratch',
  logits: 'LM-head logits chunk',
  batch: 'token ids and losses',
};

/** The studio's training run (default engine options, weights as `requested`) for this config and settings on `device`. */
export function estimateMemory(configJson: unknown, s: MemorySettings, device: EstimateDevice, requested: WeightsFlag = 'auto', facts: CheckpointFacts = {}): MemoryReport {
  const cfg = parseModelConfig(configJson);
  const kept = facts.gguf ? keptTensorsOf(facts.gguf.types) : undefined;
  const fit = trainingWeightFit(cfg, s, DEFAULT_ENGINE_OPTIONS.recompute, device, undefined, kept);
  const plans = new Map<WeightStorage, TrainingMemoryPlan>();
  const formats = WEIGHT_STORAGES.map((storage): FormatPlan => {
    if (storage === 'f16' && !device.f16) return { storage, totalBytes: null, weightBytes: null, problem: 'needs shader-f16, which this GPU lacks' };
    try {
      const p = fit.plan(storage);
      plans.set(storage, p);
      return { storage, totalBytes: p.totalBytes, weightBytes: p.weightBytes, problem: null };
    } catch (e) {
      return { storage, totalBytes: null, weightBytes: null, problem: (e as Error).message };
    }
  });
  const head = facts.storesTiedHead && cfg.tieWordEmbeddings ? cfg.vocabSize * cfg.hiddenSize : 0;
  const downloadBytes = facts.gguf?.bytes ?? (parameterCount(cfg) + head) * dtypeBytes(cfg.dtype);

  let storage: WeightStorage;
  let reason: string;
  let refused: string | null = null;
  try {
    ({ storage, reason } = chooseWeightStorage(requested, device.f16, cfg.dtype, fit));
  } catch (e) {
    refused = (e as Error).message;
    storage = requested === 'auto' ? 'q4' : requested;
    reason = refused;
  }
  // Where the chosen format cannot run, its plan is still shown (what it would need), or the refusal is the error.
  const plan = plans.get(storage) ?? planTrainingMemory(cfg, s, { storage, recompute: DEFAULT_ENGINE_OPTIONS.recompute, kept }, device.maxStorageBufferBindingSize);
  const notes: string[] = [];
  let verdict: MemoryReport['verdict'] = plan.totalBytes <= COMFORTABLE_BYTES ? 'likely' : 'tight';
  if (refused) {
    verdict = 'no';
    notes.push(`Refused before download: ${refused}.`);
  } else if (plan.largestTensorBytes > device.maxStorageBufferBindingSize) {
    notes.push(`The largest weight tensor (${fmt(plan.largestTensorBytes)}) is larger than one binding (${fmt(device.maxStorageBufferBindingSize)}); the engine binds it in ranges, a little slower.`);
  }
  notes.push(`At batch ${s.batchSize}${s.objective && isPreferenceObjective(s.objective) ? ' pairs (two sequences each)' : ''} × ${s.seqLen} tokens ${RECOMPUTE_TEXT[plan.recompute]}.`);
  const parts = (Object.keys(ACTIVATION_TEXT) as ActivationKind[]).filter((k) => plan.activationParts[k] > 0).map((k) => `${ACTIVATION_TEXT[k]} ${fmt(plan.activationParts[k])}`);
  notes.push(`Activations (${fmt(plan.activationBytes)}): ${parts.join(', ')}.`);
  if (verdict === 'tight') notes.push(`About ${fmt(plan.totalBytes)} in total: fine on a discrete GPU, may fail on integrated graphics. A smaller batch or sequence length, or a smaller weight format, saves memory.`);
  notes.push('These are the buffers the engine allocates; browsers do not reveal how much memory a GPU has, so whether they fit is a judgement, not a guarantee.');
  const downloadRefusal = formats.some((f) => f.problem === null)
    ? null
    : `This model cannot train on this GPU in any weight format, so it is not downloaded: ${formats.map((f) => `${f.storage}: ${f.problem}`).join('; ')}.`;
  return { ...plan, requested, reason, formats, downloadBytes, downloadRefusal, verdict, notes };
}
