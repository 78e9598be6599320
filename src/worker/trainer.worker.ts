// The studio's worker: owns the GPU device and runs all engine work off the UI thread.
// Every method is typed; big arrays come in and go out as transfers, never copies.
import * as Comlink from 'comlink';
import { requestEngineDevice, WEBGPU_DEFAULT_LIMITS, type AdapterSummary } from '../engine/gpu/device';
import type { WeightStorage, WeightsFlag } from '../engine/model/weights';
import type { GpuContext } from '../engine/gpu/context';
import { runKernelSmoke, type SmokeResult } from '../engine/smoke';
import { cancelJob } from './jobs';
import { estimateMemory, type CheckpointFacts, type EstimateDevice, type MemoryReport } from './memory';
import type { LossMode, MemorySettings, MergedGgufType, TrainSettings } from './settings';
import * as datasets from './dataset-service';
import * as adapters from './adapter-service';
import * as training from './training-service';
import * as models from './models-service';
import * as runs from './runs-service';
import * as profiling from './profile-service';
import * as evaluation from './evaluation-service';
import { gpuBusyReason, type GpuUse } from './gpu-busy';
import { tokenStats, type TokenReport } from './token-service';
import type { ModelRef } from '../persist/records';
import type { LocalFile } from '../hub';
import type { GenerateRequest, RunEvent, StartRunRequest } from './run-types';
import type { NamedBytes } from './zip';
import type { RecipeTarget } from '../train/recipe/mapping';

export type GpuStatus =
  | { available: true; adapter: AdapterSummary; f16: boolean; subgroups: boolean; timestamps: boolean }
  | { available: false; reason: string };

let ctxPromise: Promise<{ ctx: GpuContext; adapter: AdapterSummary }> | null = null;

function device() {
  ctxPromise ??= requestEngineDevice((self.navigator as Navigator & { gpu?: GPU }).gpu);
  return ctxPromise;
}
training.setDeviceProvider(device);
// For e2e tests only: destroys the device as a driver reset would (reached through Playwright's
// worker.evaluate; nothing in the app calls it).
(self as unknown as { __loraStudioLoseDevice?: () => Promise<void> }).__loraStudioLoseDevice = async () => (await device()).ctx.device.destroy();
// After a lost device the next call asks for a fresh one.
training.setForgetDevice(() => (ctxPromise = null));

/** WebGPU's guaranteed defaults, used for estimates when no adapter is available. */

type Progress = (p: datasets.ParseProgress) => void;

/** Throws why `toDo` cannot have the GPU now (one rule for every service: gpu-busy.ts). */
function refuseIfGpuBusy(toDo: string, use: GpuUse): void {
  const busy = gpuBusyReason({ training: training.trainingHolder(), evaluating: evaluation.evaluationRunning() }, toDo, use);
  if (busy) throw new Error(busy);
}

const api = {
  async gpuStatus(): Promise<GpuStatus> {
    try {
      const { ctx, adapter } = await device();
      return { available: true, adapter, f16: ctx.caps.f16, subgroups: ctx.caps.subgroups, timestamps: ctx.caps.timestamps };
    } catch (e) {
      ctxPromise = null;
      return { available: false, reason: (e as Error).message };
    }
  },
  async kernelSmoke(): Promise<SmokeResult[]> {
    const { ctx } = await device();
    return runKernelSmoke(ctx);
  },
  /** One optimizer step of this model with these (Train screen) settings, kernel by kernel where timestamp-query is granted. */
  async profileStep(ref: ModelRef, settings: TrainSettings, weights: WeightsFlag = 'auto'): Promise<profiling.StepProfileReport> {
    // It builds a training graph of its own and frees the playground's model.
    refuseIfGpuBusy('profile a step', 'training-graph');
    const { ctx, adapter } = await device();
    return profiling.profileStep(ctx, adapter, ref, settings, weights);
  },
  /** Our linear, LoRA and attention kernels at this model's shapes; `onRow` as each row finishes. */
  async kernelBench(ref: ModelRef, settings: TrainSettings, onRow?: (r: profiling.KernelBenchReportRow) => void): Promise<profiling.KernelBenchReport> {
    refuseIfGpuBusy('run the kernel benchmark', 'training-graph');
    const { ctx, adapter } = await device();
    return profiling.kernelBench(ctx, adapter, ref, settings, onRow);
  },


  /**
   * The GPU memory training this model with these settings allocates here (the engine's plan) for
   * each weight format, the one `weights` picks (as a run here would), judged against this GPU's limits.
   */
  async estimateMemory(config: unknown, settings: MemorySettings, weights: WeightsFlag = 'auto', facts: CheckpointFacts = {}): Promise<MemoryReport> {
    let dev: EstimateDevice = { ...WEBGPU_DEFAULT_LIMITS, f16: false };
    try {
      const { ctx } = await device();
      dev = { maxBufferSize: ctx.caps.maxBufferSize, maxStorageBufferBindingSize: ctx.caps.maxStorageBufferBindingSize, f16: ctx.caps.f16 };
    } catch {
      // No GPU: plan against the limits every WebGPU adapter guarantees.
    }
    return estimateMemory(config, settings, dev, weights, facts);
  },

  cancel(jobId: string): boolean {
    return cancelJob(jobId);
  },

  // Datasets
  parseDataset(jobId: string, name: string, bytes: ArrayBuffer, req: datasets.ParseRequest, onProgress?: Progress) {
    return datasets.parseFile(jobId, name, bytes, req, onProgress);
  },
  reparseDataset(jobId: string, req: datasets.ParseRequest, onProgress?: Progress) {
    return datasets.reparse(jobId, req, onProgress);
  },
  saveDataset(opts: { excludeInvalid: boolean; removeDuplicates: boolean }) {
    return datasets.saveCurrent(opts);
  },
  openSavedDataset(jobId: string, id: string) {
    return datasets.openSaved(jobId, id);
  },
  /** Whether a saved dataset holds pairs, for one saved before the studio recorded it. */
  savedDatasetKind(id: string) {
    return datasets.savedDatasetKind(id);
  },

  // Models
  listCachedModels: () => models.listCached(),
  deleteCachedModel: (key: string) => models.deleteCached(key),
  /** `token`: Hugging Face access token for gated/private repos (sent only as an Authorization header). */
  downloadModel(jobId: string, repo: string, token: string | undefined, onProgress?: (p: models.DownloadProgress) => void, gguf?: { file: string; tokenizerRepo: string }) {
    return models.download(jobId, repo, token, onProgress, gguf);
  },
  /** A Hub id: model or GGUF repository (its files, and the original model its card names). */
  inspectHubModel(repo: string, token: string | undefined) {
    return models.inspectHub(repo, token);
  },
  /** The file picked by default for the storage the 'auto' rule chose (src/hub's defaultGgufFile). */
  defaultHubGguf(files: models.HubGgufFile[], storage: WeightStorage) {
    return models.defaultHubGguf(files, storage);
  },
  /** One GGUF repo file's config and tensor types, read from its header with Range requests. */
  hubGgufHeader(repo: string, file: string, token: string | undefined) {
    return models.hubGgufHeader(repo, file, token);
  },
  /** Files are handles (structured-cloned, not read): the worker streams them into the cache. */
  importModelFolder(jobId: string, files: LocalFile[], name: string | undefined, onProgress?: (p: models.DownloadProgress) => void) {
    return models.importFolder(jobId, files, name, onProgress);
  },
  tokenStats(jobId: string, ref: ModelRef, seqLen: number, lossMode: LossMode, onProgress?: (p: { done: number; total: number }) => void): Promise<TokenReport> {
    return tokenStats(jobId, ref, seqLen, lossMode, onProgress);
  },

  // Training and generation
  /** Optimizer steps a run of the saved dataset on this model would take (the session's own plan). */
  planSteps(datasetId: string, ref: ModelRef, settings: TrainSettings): Promise<number> {
    return training.planSteps(datasetId, ref, settings);
  },
  startRun(req: StartRunRequest, onEvent: (e: RunEvent) => void): Promise<string> {
    refuseIfGpuBusy('start a run', 'training-graph');
    return training.startRun(req, onEvent);
  },
  resumeRun(runId: string, onEvent: (e: RunEvent) => void): Promise<void> {
    // The paused run itself resumes in place; another run waits for it to stop.
    const holder = training.currentRunId() === runId ? null : training.trainingHolder();
    const busy = gpuBusyReason({ training: holder, evaluating: evaluation.evaluationRunning() }, 'resume a run', 'training-graph');
    if (busy) throw new Error(busy);
    return training.resumeRun(runId, onEvent);
  },
  pauseRun: () => training.pauseRun(),
  stopRun: () => training.stopRun(),
  activeRunId: () => training.currentRunId(),
  generate(req: GenerateRequest, onToken: (text: string) => void) {
    refuseIfGpuBusy('use the playground', 'inference');
    return training.generate(req, onToken);
  },
  /**
   * Evaluates a run's systems on held-out examples (cancel with cancel(jobId)); resolves with
   * the stored evaluation. Refused while a run trains.
   */
  async evaluateRun(jobId: string, req: evaluation.EvaluateRequest, onProgress?: (p: evaluation.EvaluateProgress) => void) {
    refuseIfGpuBusy('evaluate', 'inference');
    const { ctx } = await device();
    return evaluation.evaluateRun(ctx, jobId, req, onProgress);
  },
  metricCatalog: () => evaluation.metricCatalog(),
  exportEvaluation: (id: string, format: 'json' | 'aggregates.csv' | 'examples.csv') => evaluation.exportEvaluation(id, format),

  // Stored runs and adapters: every edit goes through here (the worker is the only writer).
  setRunNotes: (runId: string, notes: string) => runs.setRunNotes(runId, notes),
  /** Refused for the run that is training, paused or resuming. */
  deleteRun: (runId: string) => runs.deleteRun(runId),
  deleteAdapter: (adapterId: string) => runs.deleteAdapter(adapterId),
  /** A completed run as an Axolotl or TRL recipe folder, zipped (transferred). */
  async exportRecipe(runId: string, target: RecipeTarget, gpus: number): Promise<{ fileName: string; bytes: Uint8Array }> {
    const out = await runs.exportRecipe(runId, target, gpus);
    return Comlink.transfer(out, [out.bytes.buffer]);
  },

  // Adapters
  /** A stored adapter's PEFT files (transferred), for writing into a folder the user picked. */
  async peftFiles(adapterId: string): Promise<{ folder: string; files: NamedBytes[] }> {
    const out = await adapters.peftFiles(adapterId);
    return Comlink.transfer(out, out.files.map((f) => f.bytes.buffer));
  },
  async exportAdapterZip(adapterId: string): Promise<{ fileName: string; bytes: Uint8Array }> {
    const out = await adapters.exportAdapterZip(adapterId);
    return Comlink.transfer(out, [out.bytes.buffer]);
  },
  async exportAdapterGguf(adapterId: string): Promise<{ fileName: string; bytes: Uint8Array }> {
    const out = await adapters.exportAdapterGguf(adapterId);
    return Comlink.transfer(out, [out.bytes.buffer]);
  },
  /** Names and approximate sizes of a merged export (base + adapter), before streaming it. */
  planMergedExport(adapterId: string, format: adapters.MergedFormat, ggufType?: MergedGgufType): Promise<adapters.MergedExportPlan> {
    return adapters.planMergedExport(adapterId, format, ggufType);
  },
  /**
   * Streams a merged export to the page: `sink` (a Comlink callback) receives each chunk,
   * transferred, and is awaited before the next one. Cancel with cancel(jobId).
   */
  streamMergedExport(jobId: string, adapterId: string, format: adapters.MergedFormat, sink: adapters.ChunkSink, ggufType?: MergedGgufType): Promise<adapters.MergedExportPlan> {
    return adapters.streamMergedExport(jobId, adapterId, format, sink, (c) => Comlink.transfer(c, [c.buffer]), ggufType);
  },
  importAdapter(files: NamedBytes[], name: string, loaded: adapters.LoadedModel | null) {
    return adapters.importAdapter(files, name, loaded);
  },
};

export type TrainerApi = typeof api;
Comlink.expose(api);
