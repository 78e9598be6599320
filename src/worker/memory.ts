// "Will it fit?": the engine's training-memory estimate for a model and settings, judged
// against this adapter's limits. WebGPU does not tell how much memory a GPU has, so the
// verdict separates hard limits (a buffer too big) from a size we can only compare with
// typical GPUs.
import { estimateTrainingMemory, parseModelConfig, type LinearModule } from '../engine/model/config';
import type { TrainSettings } from './settings';

export interface MemoryReport {
  baseParams: number;
  loraParams: number;
  weightBytes: number;
  loraTrainingBytes: number;
  activationBytes: number;
  totalBytes: number;
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

export function estimateMemory(
  configJson: unknown,
  s: Pick<TrainSettings, 'rank' | 'targets' | 'batchSize' | 'seqLen'>,
  limits: LimitsForEstimate,
  weightBytesPerParam = 4,
): MemoryReport {
  const cfg = parseModelConfig(configJson);
  const est = estimateTrainingMemory(cfg, {
    weightBytesPerParam,
    r: s.rank,
    targets: s.targets as LinearModule[],
    batch: s.batchSize,
    seqLen: s.seqLen,
  });
  const largestTensorBytes = cfg.vocabSize * cfg.hiddenSize * weightBytesPerParam;
  const notes: string[] = [];
  let verdict: MemoryReport['verdict'] = est.totalBytes <= COMFORTABLE_BYTES ? 'likely' : 'tight';
  if (largestTensorBytes > limits.maxBufferSize) {
    verdict = 'no';
    notes.push(`The token embedding needs ${fmt(largestTensorBytes)} in one buffer; this GPU allows ${fmt(limits.maxBufferSize)}.`);
  } else if (largestTensorBytes > limits.maxStorageBufferBindingSize) {
    notes.push(`The token embedding (${fmt(largestTensorBytes)}) is larger than one binding (${fmt(limits.maxStorageBufferBindingSize)}); the engine binds it in ranges, a little slower.`);
  }
  const logits = s.batchSize * s.seqLen * cfg.vocabSize * 4;
  if (logits > limits.maxStorageBufferBindingSize) {
    // Not fatal by itself (the loss can be computed in chunks of tokens), but it is the biggest activation.
    notes.push(`Logits for batch ${s.batchSize} × ${s.seqLen} tokens take ${fmt(logits)}, more than one binding; a smaller batch or sequence length saves the most memory.`);
  }
  if (verdict === 'tight') notes.push(`About ${fmt(est.totalBytes)} in total: fine on a discrete GPU, may fail on integrated graphics. Lower batch size or sequence length to save activation memory.`);
  notes.push('Browsers do not reveal how much memory a GPU has, so this is an estimate, not a guarantee.');
  return { ...est, largestTensorBytes, verdict, notes };
}
