// "Will it fit?": the GPU memory a training run with these settings allocates (the engine's own
// plan, planTrainingMemory), judged against this adapter's limits. WebGPU does not tell how much
// memory a GPU has, so the verdict separates hard limits (a buffer too big) from a size we can
// only compare with typical GPUs.
import { parseModelConfig } from '../engine/model/config';
import type { WeightStorage } from '../engine/model/weights';
import { planTrainingMemory, type TrainingMemoryPlan } from '../train/memory-plan';
import { DEFAULT_ENGINE_OPTIONS } from '../train/session';
import type { MemorySettings } from './settings';

export interface MemoryReport extends TrainingMemoryPlan {
  /** Bytes of the biggest single tensor (the token embedding). */
  largestTensorBytes: number;
  /** 'no': a hard limit is exceeded. 'likely': fits typical 4 GiB+ GPUs. 'tight': may not fit integrated GPUs. */
  verdict: 'likely' | 'tight' | 'no';
  notes: string[];
}

export interface LimitsForEstimate {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const fmt = (b: number) => (b >= GiB ? `${(b / GiB).toFixed(1)} GiB` : `${Math.round(b / MiB)} MiB`);

/** Memory a typical integrated GPU lends a browser tab before things get tight. */
export const COMFORTABLE_BYTES = 2 * GiB;

const RECOMPUTE_TEXT = {
  none: 'every activation is kept for the backward',
  selective: 'norms and SwiGLU outputs are recomputed in the backward to save memory',
  full: 'each layer is recomputed in the backward (the least memory, about a third more compute)',
} as const;

/** The studio's training run (default engine options, weights in `storage`) for this config and settings. */
export function estimateMemory(
  configJson: unknown,
  s: MemorySettings,
  limits: LimitsForEstimate,
  storage: WeightStorage = 'f32',
): MemoryReport {
  const cfg = parseModelConfig(configJson);
  const plan = planTrainingMemory(cfg, s, { storage, recompute: DEFAULT_ENGINE_OPTIONS.recompute }, limits.maxStorageBufferBindingSize);
  const largestTensorBytes = cfg.vocabSize * cfg.hiddenSize * (storage === 'f16' ? 2 : 4);
  const notes: string[] = [];
  let verdict: MemoryReport['verdict'] = plan.totalBytes <= COMFORTABLE_BYTES ? 'likely' : 'tight';
  if (largestTensorBytes > limits.maxBufferSize) {
    verdict = 'no';
    notes.push(`The token embedding needs ${fmt(largestTensorBytes)} in one buffer; this GPU allows ${fmt(limits.maxBufferSize)}.`);
  } else if (largestTensorBytes > limits.maxStorageBufferBindingSize) {
    notes.push(`The token embedding (${fmt(largestTensorBytes)}) is larger than one binding (${fmt(limits.maxStorageBufferBindingSize)}); the engine binds it in ranges, a little slower.`);
  }
  notes.push(`At batch ${s.batchSize}${s.objective === 'dpo' || s.objective === 'orpo' ? ' pairs (two sequences each)' : ''} × ${s.seqLen} tokens ${RECOMPUTE_TEXT[plan.recompute]}.`);
  if (verdict === 'tight') notes.push(`About ${fmt(plan.totalBytes)} in total: fine on a discrete GPU, may fail on integrated graphics. A smaller batch or sequence length saves activation memory.`);
  notes.push('These are the buffers the engine allocates; browsers do not reveal how much memory a GPU has, so whether they fit is a judgement, not a guarantee.');
  return { ...plan, largestTensorBytes, verdict, notes };
}
