// The GPU screen's measurements, in the worker: "Profile one step" (one optimizer step of the
// chosen model with the Train screen's settings, kernel by kernel where the adapter has
// timestamp-query) and the in-page kernel benchmark (engine/gpu/kernel-bench, the rows
// `npm run bench` times). Both build what they measure and free it; neither runs while a run
// holds the GPU. The reports are plain JSON, so the screen can export them for bug reports.
import type { AdapterSummary } from '../engine/gpu/device';
import type { GpuContext } from '../engine/gpu/context';
import { LM_HEAD_BENCH_ROWS, gflopsOf, runKernelBench, type KernelBenchRow, type WeightVariant } from '../engine/gpu/kernel-bench';
import { parseModelConfig, type ModelConfig } from '../engine/model/config';
import { destroyWeights, keptTensors, uploadWeights, type WeightsFlag } from '../engine/model/weights';
import { buildTrainer, DEFAULT_ENGINE_OPTIONS, resolveTrainingStorage, stepsFor } from '../train/session';
import { profileTrainerStep, syntheticBatch, type StepProfile } from '../train/profile';
import { seqLenProblem } from '../train/seq-len';
import { openModelWeights, readModelMetadata } from '../hub';
import type { ModelRef } from '../persist/records';
import { unloadPlayground } from './generation-service';
import { openModel } from './models-service';
import { batchRows, validateSettings, withDefaults, type TrainSettings } from './settings';

/** Who measured what: the adapter and the model's shape, at the top of both reports. */
export interface MeasuredOn {
  adapter: { name: string; vendor: string; architecture: string; features: string[] };
  model: { id: string; layers: number; hidden: number; heads: number; kvHeads: number; headDim: number; intermediate: number; vocab: number };
  createdAt: string;
}

export interface StepProfileReport extends MeasuredOn {
  kind: 'lora-studio/step-profile';
  settings: Pick<TrainSettings, 'batchSize' | 'seqLen' | 'gradAccum' | 'rank' | 'targets'> & { weightStorage: string; recompute: string };
  profile: StepProfile;
}

export type KernelBenchReportRow = KernelBenchRow & { gflops: number; variantGflops: Partial<Record<WeightVariant, number>> };

export interface KernelBenchReport extends MeasuredOn {
  kind: 'lora-studio/kernel-bench';
  rows: KernelBenchReportRow[];
}

const withRates = (r: KernelBenchRow): KernelBenchReportRow => ({
  ...r,
  gflops: gflopsOf(r.flops, r.ms),
  variantGflops: Object.fromEntries(Object.entries(r.variantMs).map(([v, ms]) => [v, gflopsOf(r.flops, ms)])),
});

function measuredOn(adapter: AdapterSummary, ref: ModelRef, cfg: ModelConfig): MeasuredOn {
  return {
    adapter: { name: adapter.name, vendor: adapter.vendor, architecture: adapter.architecture, features: adapter.features },
    model: { id: ref.id, layers: cfg.numLayers, hidden: cfg.hiddenSize, heads: cfg.numHeads, kvHeads: cfg.numKvHeads, headDim: cfg.headDim, intermediate: cfg.intermediateSize, vocab: cfg.vocabSize },
    createdAt: new Date().toISOString(),
  };
}

async function modelConfig(ref: ModelRef) {
  const files = await openModel(ref);
  const meta = await readModelMetadata(files);
  return { files, cfg: parseModelConfig(meta.config) };
}

/** One optimizer step of `ref` with `settings` (a synthetic batch of their shape), profiled. */
export async function profileStep(ctx: GpuContext, adapter: AdapterSummary, ref: ModelRef, rawSettings: TrainSettings, format: WeightsFlag = 'auto'): Promise<StepProfileReport> {
  const settings = withDefaults(rawSettings);
  const problems = Object.values(validateSettings(settings));
  if (problems.length) throw new Error(`These settings cannot run: ${problems.join('; ')}.`);
  const { files, cfg } = await modelConfig(ref);
  const tooLong = seqLenProblem(settings.seqLen, cfg.maxPositionEmbeddings);
  if (tooLong) throw new Error(tooLong);
  unloadPlayground(); // the memory a run would have
  const engine = { ...DEFAULT_ENGINE_OPTIONS, weightStorage: format }; // the format a run would train in
  const store = await openModelWeights(files);
  const { storage } = resolveTrainingStorage(ctx, cfg, settings, engine, keptTensors(store));
  const weights = await uploadWeights(ctx, cfg, store, { storage });
  try {
    const trainer = buildTrainer(ctx, cfg, weights, settings, engine, stepsFor(settings, 1));
    try {
      // Preference objectives: rows are (chosen, rejected) pairs; the reference log-probs only change values, not the work.
      const B = batchRows(settings);
      const batch = syntheticBatch(B, settings.seqLen, cfg.vocabSize);
      const refLogps = settings.objective === 'dpo' ? Array.from({ length: settings.gradAccum }, () => new Float32Array(B)) : undefined;
      const profile = await profileTrainerStep(ctx, trainer, Array.from({ length: settings.gradAccum }, () => batch), { refLogps });
      const { batchSize, seqLen, gradAccum, rank, targets } = settings;
      return {
        kind: 'lora-studio/step-profile',
        ...measuredOn(adapter, ref, cfg),
        settings: { batchSize, seqLen, gradAccum, rank, targets: [...targets], weightStorage: weights.storage, recompute: String(engine.recompute) },
        profile,
      };
    } finally {
      trainer.destroy();
      trainer.lora.destroy();
      trainer.model.destroy();
    }
  } finally {
    destroyWeights(ctx, weights);
  }
}

/** Our linear, LoRA and attention kernels at `ref`'s shapes (B·T and rank from the settings). */
export async function kernelBench(ctx: GpuContext, adapter: AdapterSummary, ref: ModelRef, rawSettings: TrainSettings, onRow?: (r: KernelBenchReportRow) => void): Promise<KernelBenchReport> {
  const settings = withDefaults(rawSettings);
  const { cfg } = await modelConfig(ref);
  const BT = settings.batchSize * settings.seqLen;
  unloadPlayground();
  const rows = await runKernelBench(ctx, cfg, { BT, lmHeadBT: Math.min(BT, LM_HEAD_BENCH_ROWS), R: settings.rank, attnT: settings.seqLen, reps: 3, warmup: 1 }, (r) => onRow?.(withRates(r)));
  return {
    kind: 'lora-studio/kernel-bench',
    ...measuredOn(adapter, ref, cfg),
    rows: rows.map(withRates),
  };
}
