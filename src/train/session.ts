// A training run from tokenized examples to a trained adapter: weights on the GPU, the
// train/validation split, batches, optimizer steps with accumulation, and the one training
// loop (`run`): evaluation, checkpoint and sample cadences, pause/resume, stop and device loss.
// The CLI and the studio's worker only give it callbacks (publish metrics, persist a
// checkpoint, store a sample, show a status), so a run means the same thing in both.
import type { GpuContext } from '../engine/gpu/context';
import type { ModelConfig } from '../engine/model/config';
import type { TensorStore } from '../engine/model/safetensors';
import { destroyWeights, uploadWeights, type ModelWeights } from '../engine/model/weights';
import { LlamaModel, type GraphOptions } from '../engine/model/llama';
import { LoraParams } from '../engine/model/lora-params';
import { defaultOptimConfig } from '../engine/optim/config';
import type { LoraAdapter } from '../adapters/lora';
import { BatchIterator, splitTrainVal, trainedTokens, type Batch, type BatchPosition, type TokenizedExample } from '../data';
import { seqLenProblem } from './seq-len';
import type { TrainSettings } from './settings';
import { DeviceLostError, LoraTrainer, type TrainerCheckpoint } from './trainer';

/** Engine choices that are not training hyperparameters. */
export interface EngineOptions {
  /** Base weights in f16 where the GPU has shader-f16 ('auto'), or f32/f16 explicitly. */
  weightStorage: 'auto' | 'f32' | 'f16';
  /**
   * Activation recomputation in the backward: false keeps everything; 'selective' recomputes
   * the cheap norm and SwiGLU outputs; true re-runs each layer (least memory, about a third
   * more compute); 'auto' takes the first of these whose activations fit 1 GiB.
   */
  recompute: GraphOptions['recompute'];
  maxGradNorm: number;
  weightDecay: number;
  /** Pack several short examples per row (sequences never attend across each other). */
  packing: boolean;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = { weightStorage: 'auto', recompute: 'auto', maxGradNorm: 1, weightDecay: 0, packing: true };

export interface StepMetrics {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Non-padding tokens processed by this step. */
  tokens: number;
  tokensPerSec: number;
  elapsedMs: number;
  etaMs: number;
  /** The validation loss when `run` evaluated right after this step. */
  valLoss?: number;
}

export interface EvalMetrics {
  step: number;
  valLoss: number;
  valTargets: number;
}

/** Everything to continue a run exactly where it stopped (adapter, AdamW state, data position). */
export interface RunCheckpoint {
  version: 1;
  trainer: TrainerCheckpoint;
  position: BatchPosition;
  settings: TrainSettings;
  elapsedMs: number;
}

/**
 * What a caller of `run` does with the run: it only publishes, stores and answers. Every
 * callback is awaited, so training never runs ahead of what the caller stored.
 */
export interface RunEvents {
  /** Stops the run after the step in flight (at once while paused); it checkpoints first. */
  signal?: AbortSignal;
  /** A step's metrics, with its validation loss when it was evaluated (batching is the caller's). */
  onStep?: (m: StepMetrics) => void | Promise<void>;
  /** Persists a checkpoint: every checkpointEvery steps, at the end, on pause and on stop. */
  onCheckpoint?: (c: RunCheckpoint) => void | Promise<void>;
  /** The run pauses (after its checkpoint) or resumes. */
  onStatus?: (status: 'running' | 'paused') => void | Promise<void>;
  /** Sample answers every sampleEvery steps and after the last step. */
  samples?: SampleEvents;
}

export interface SampleEvents {
  prompts: readonly string[];
  /** Answering begins at this step (only when there are prompts), e.g. to say so while it takes. */
  onSampling?: (step: number) => void | Promise<void>;
  /** The answer to one prompt with the adapter as trained so far. */
  generate: (prompt: string) => Promise<string>;
  /** Stores a sample (an answer or why there is none). */
  onSample: (s: TrainingSample) => void | Promise<void>;
}

export interface RunResult {
  stoppedBy: 'completed' | 'cancelled';
  step: number;
  finalValLoss: number | null;
}

export interface OpenSessionOptions {
  engine?: Partial<EngineOptions>;
  /** Token id written into padding (its targets are ignored anyway); default 0. */
  padId?: number;
  onUploadProgress?: (done: number, total: number, name: string) => void;
}

const nonPadTokens = (b: Batch) => b.segmentIds.reduce((n, s) => n + (s !== 0 ? 1 : 0), 0);

export interface RunPlan {
  batches: BatchIterator;
  valBatches: BatchIterator | null;
  totalSteps: number;
}

export class TrainingSession {
  readonly totalSteps: number;
  /** Rows per epoch (packed sequences, or single examples without packing). */
  readonly trainRows: number;
  readonly valRows: number;
  /** Training time of the run so far (restored from checkpoints), for ETA and records. */
  private elapsedBefore = 0;
  private recentStepMs = 0;
  private lastValLoss: number | null = null;
  /** Step of the newest checkpoint handed to onCheckpoint (or restored), so none is taken twice. */
  private checkpointedAt: number | null = null;
  private pauseRequested = false;
  /** Set while the run waits paused: resumes it. */
  private resumeWaiter: (() => void) | null = null;

  private constructor(
    readonly ctx: GpuContext,
    readonly cfg: ModelConfig,
    private readonly weights: ModelWeights,
    readonly trainer: LoraTrainer,
    private readonly batches: BatchIterator,
    private readonly valBatches: BatchIterator | null,
    readonly settings: TrainSettings,
  ) {
    this.totalSteps = stepsFor(settings, batches.batchesPerEpoch);
    this.trainRows = batches.rowsPerEpoch;
    this.valRows = valBatches?.rowsPerEpoch ?? 0;
  }

  /** The run's train/validation split of its tokenized examples (held-out evaluation asks for the same one). */
  static split<T>(examples: readonly T[], settings: Pick<TrainSettings, 'valSplit' | 'seed'>): { train: T[]; val: T[] } {
    return splitTrainVal(examples, { valFraction: settings.valSplit, seed: settings.seed });
  }

  /**
   * The run's data plan without a GPU: the split, the batches (packed unless the engine options
   * say not) and the optimizer steps. `open` uses it, so "planned steps" shown before a run are
   * the steps the run takes. Throws on data that cannot train.
   */
  static plan(examples: readonly TokenizedExample[], settings: TrainSettings, opts: Pick<OpenSessionOptions, 'engine' | 'padId'> = {}): RunPlan {
    const engine = { ...DEFAULT_ENGINE_OPTIONS, ...opts.engine };
    if (examples.length === 0) throw new Error('no training examples: the dataset has nothing to train on');
    const T = settings.seqLen;
    const usable = examples.filter((ex) => trainedTokens(ex, T) > 0).length;
    if (usable === 0) {
      throw new Error(`none of the ${examples.length} examples has a trained token within the first ${T} tokens (the sequence length): raise the sequence length or shorten the prompts`);
    }
    const { train, val } = TrainingSession.split(examples, settings);
    const batchOpts = { B: settings.batchSize, T, seed: settings.seed, packing: engine.packing, padId: opts.padId ?? 0 };
    const batches = new BatchIterator(train, batchOpts);
    const valBatches = val.length > 0 ? new BatchIterator(val, { ...batchOpts, shuffle: false }) : null;
    return { batches, valBatches, totalSteps: stepsFor(settings, batches.batchesPerEpoch) };
  }

  /** Uploads the base weights, plans the LoRA and the batches. Throws on settings that cannot run. */
  static async open(ctx: GpuContext, cfg: ModelConfig, store: TensorStore, examples: readonly TokenizedExample[], settings: TrainSettings, opts: OpenSessionOptions = {}): Promise<TrainingSession> {
    const engine = { ...DEFAULT_ENGINE_OPTIONS, ...opts.engine };
    const T = settings.seqLen;
    const tooLong = seqLenProblem(T, cfg.maxPositionEmbeddings);
    if (tooLong) throw new Error(tooLong);
    const { batches, valBatches, totalSteps } = TrainingSession.plan(examples, settings, opts);
    const weights = await uploadWeights(ctx, cfg, store, { storage: engine.weightStorage, onProgress: opts.onUploadProgress });
    try {
      const model = new LlamaModel(ctx, cfg, weights);
      const lora = LoraParams.create(ctx, cfg, { r: settings.rank, alpha: settings.alpha, dropout: settings.dropout, targetModules: [...settings.targets], useRslora: settings.rslora }, settings.seed);
      const optim = defaultOptimConfig({
        schedule: { kind: settings.schedule, lr: settings.learningRate, warmupSteps: Math.min(settings.warmupSteps, totalSteps), totalSteps },
        weightDecay: engine.weightDecay,
        maxGradNorm: engine.maxGradNorm,
        gradAccumSteps: settings.gradAccum,
      });
      const trainer = new LoraTrainer(ctx, model, lora, optim, { B: settings.batchSize, T, seed: settings.seed, recompute: engine.recompute });
      return new TrainingSession(ctx, cfg, weights, trainer, batches, valBatches, settings);
    } catch (e) {
      destroyWeights(ctx, weights);
      throw e;
    }
  }

  /** Optimizer steps completed (restored ones included). */
  get stepsCompleted(): number {
    return this.trainer.stepsCompleted;
  }

  /** Continues from a checkpoint of a run with the same data and settings. */
  restore(c: RunCheckpoint): void {
    if (c.version !== 1) throw new Error(`unknown checkpoint version ${String(c.version)}`);
    this.trainer.restore(c.trainer);
    this.batches.seek(c.position);
    this.elapsedBefore = c.elapsedMs;
    this.checkpointedAt = c.trainer.step;
  }

  /** A checkpoint of the state after the last completed step. */
  async checkpoint(): Promise<RunCheckpoint> {
    return { version: 1, trainer: await this.trainer.checkpoint(this.batches.position), position: this.batches.position, settings: this.settings, elapsedMs: this.elapsedBefore };
  }

  /** Mean validation loss over the whole validation split (token-weighted), or null without one. */
  async evaluate(opts: { loraScale?: number } = {}): Promise<EvalMetrics | null> {
    if (!this.valBatches) return null;
    let sum = 0;
    let n = 0;
    for (const b of this.valBatches.epochBatches(0)) {
      const r = await this.trainer.evalLoss(b, opts);
      sum += r.loss * r.numTargets;
      n += r.numTargets;
    }
    const m = { step: this.stepsCompleted, valLoss: n > 0 ? sum / n : 0, valTargets: n };
    this.lastValLoss = m.valLoss;
    return m;
  }

  /** One optimizer step (gradAccum micro-batches) with its metrics. */
  async step(): Promise<StepMetrics> {
    const s = this.settings;
    const t0 = performance.now();
    const micro: Batch[] = [];
    for (let i = 0; i < s.gradAccum; i++) micro.push(this.batches.next());
    const r = await this.trainer.step(micro);
    const now = performance.now();
    const secs = (now - t0) / 1000;
    this.elapsedBefore += now - t0;
    const tokens = micro.reduce((n, b) => n + nonPadTokens(b), 0);
    this.recentStepMs = this.recentStepMs === 0 ? now - t0 : 0.8 * this.recentStepMs + 0.2 * (now - t0);
    return {
      step: r.step,
      totalSteps: this.totalSteps,
      epoch: micro[micro.length - 1].epoch,
      loss: r.loss,
      lr: r.lr,
      gradNorm: r.gradNorm,
      tokens,
      tokensPerSec: tokens / Math.max(1e-9, secs),
      elapsedMs: this.elapsedBefore,
      etaMs: this.recentStepMs * (this.totalSteps - r.step),
    };
  }

  /** Whether the schedule wants an evaluation / a checkpoint / samples after the step just completed. */
  evalDue(): boolean {
    const e = this.settings.evalEvery;
    return (e > 0 && this.stepsCompleted % e === 0) || this.stepsCompleted === this.totalSteps;
  }

  checkpointDue(): boolean {
    const c = this.settings.checkpointEvery;
    return (c > 0 && this.stepsCompleted % c === 0) || this.stepsCompleted === this.totalSteps;
  }

  sampleDue(): boolean {
    const e = this.settings.sampleEvery;
    return e > 0 && (this.stepsCompleted % e === 0 || this.stepsCompleted === this.totalSteps);
  }

  /** Asks the run to pause after the step in flight (checkpoint, then wait); false when already paused or pausing. */
  pause(): boolean {
    if (this.pauseRequested || this.paused) return false;
    this.pauseRequested = true;
    return true;
  }

  /** Whether the run waits paused (the GPU is idle). */
  get paused(): boolean {
    return this.resumeWaiter !== null;
  }

  /** Continues a paused run; false when it is not paused. */
  resume(): boolean {
    const r = this.resumeWaiter;
    r?.();
    return r !== null;
  }

  /**
   * Trains until totalSteps or until `signal` aborts (the step in flight finishes first), with
   * evaluation, checkpoints and samples on the settings' cadences and pauses on request.
   * Throws DeviceLostError when the device is lost; the last checkpoint handed out stays valid.
   */
  async run(ev: RunEvents = {}): Promise<RunResult> {
    const watch = this.trainer.watch;
    const result = (stoppedBy: RunResult['stoppedBy']): RunResult => ({ stoppedBy, step: this.stepsCompleted, finalValLoss: this.lastValLoss });
    try {
      for (;;) {
        if (this.pauseRequested && !ev.signal?.aborted && this.stepsCompleted < this.totalSteps) await this.pauseHere(ev);
        if (ev.signal?.aborted) {
          await this.checkpointOnce(ev);
          return result('cancelled');
        }
        if (this.stepsCompleted >= this.totalSteps) return result('completed');
        watch.check();
        const m: StepMetrics = await this.step();
        if (this.evalDue()) {
          const e = await this.evaluate();
          if (e) m.valLoss = e.valLoss;
        }
        await ev.onStep?.(m);
        if (this.checkpointDue()) await this.checkpointOnce(ev);
        const sp = ev.samples;
        if (sp && sp.prompts.length > 0 && this.sampleDue()) {
          await sp.onSampling?.(this.stepsCompleted);
          await collectSamples(this.stepsCompleted, sp.prompts, (p) => watch.guard(sp.generate(p)), sp.onSample);
        }
      }
    } catch (e) {
      throw await watch.explain(e);
    } finally {
      this.pauseRequested = false;
    }
  }

  /** Hands a checkpoint of the current step to onCheckpoint unless it already has one. */
  private async checkpointOnce(ev: RunEvents): Promise<void> {
    if (!ev.onCheckpoint || this.checkpointedAt === this.stepsCompleted) return;
    const c = await this.checkpoint();
    await ev.onCheckpoint(c);
    this.checkpointedAt = c.trainer.step;
  }

  /** A requested pause: checkpoint, then wait for resume() or the stop signal (a lost device ends the wait with DeviceLostError). */
  private async pauseHere(ev: RunEvents): Promise<void> {
    await this.checkpointOnce(ev);
    this.pauseRequested = false;
    if (ev.signal?.aborted) return;
    let onAbort = () => {};
    // Waiting (and `paused`) starts before onStatus, so a resume in answer to 'paused' is heard.
    const wake = new Promise<'resume' | 'stop'>((resolve) => {
      this.resumeWaiter = () => resolve('resume');
      onAbort = () => resolve('stop');
      ev.signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await ev.onStatus?.('paused');
      if ((await Promise.race([wake, this.trainer.watch.lost])) === 'stop') return;
    } finally {
      this.resumeWaiter = null;
      ev.signal?.removeEventListener('abort', onAbort);
    }
    await ev.onStatus?.('running');
  }

  exportAdapter(baseModel: string, revision: string | null = null): Promise<LoraAdapter> {
    return this.trainer.exportAdapter(baseModel, revision);
  }

  destroy(): void {
    this.trainer.destroy();
    this.trainer.lora.destroy();
    destroyWeights(this.ctx, this.weights);
  }
}

/** A sample answer during training, or why it could not be generated. */
export interface TrainingSample {
  step: number;
  prompt: string;
  output: string;
  /** Set when generation failed; output is then empty. */
  error?: string;
}

/**
 * Answers each sample prompt in turn. Samples are for watching a run, so a prompt that cannot be
 * answered (a template that refuses it, an empty prompt) becomes a sample carrying its error and
 * training goes on; only a lost device and `onSample` itself (storing the sample) throw.
 */
export async function collectSamples(
  step: number,
  prompts: readonly string[],
  answer: (prompt: string) => Promise<string>,
  onSample: (s: TrainingSample) => void | Promise<void>,
): Promise<void> {
  for (const prompt of prompts) {
    let sample: TrainingSample;
    try {
      sample = { step, prompt, output: await answer(prompt) };
    } catch (e) {
      if (e instanceof DeviceLostError) throw e; // not the prompt's fault: the run itself stops
      sample = { step, prompt, output: '', error: e instanceof Error ? e.message : String(e) };
    }
    await onSample(sample);
  }
}

/** Optimizer steps of a run: maxSteps when set, else whole epochs of micro-batches / accumulation. */
export function stepsFor(s: Pick<TrainSettings, 'maxSteps' | 'epochs' | 'gradAccum'>, microBatchesPerEpoch: number): number {
  if (s.maxSteps > 0) return s.maxSteps;
  return Math.max(1, Math.floor((microBatchesPerEpoch * s.epochs) / s.gradAccum));
}
