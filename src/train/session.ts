// A training run from tokenized examples to a trained adapter: weights on the GPU, the
// train/validation split, batches, optimizer steps with accumulation, and the one training
// loop (`run`): evaluation, checkpoint and sample cadences, pause/resume, stop and device loss.
// The loop pipelines steps: it queues step n+1's gradients before reading step n's metrics back
// and commits n+1's update after step n's callbacks, so the GPU queue does not run dry on the
// host. It queues nothing ahead of a step after which something must see the state (evaluation,
// checkpoint, samples, a pause or stop already asked for, the last step); a pause or stop asked
// for once step n+1 is queued cancels it before its update, so both still take effect right
// after the step whose metrics were shown last.
// The CLI and the studio's worker only give it callbacks (publish metrics, persist a
// checkpoint, store a sample, show a status), so a run means the same thing in both.
// Preference objectives (DPO, ORPO) train on pairs through the same loop: a micro-batch holds
// batchSize pairs as rows (chosen, rejected); DPO's reference log-probs (the base with the adapter
// off, or the adapter a run continues) are computed once per pair before the first step, cached
// for the run and stored with its checkpoints.
import type { GpuContext } from '../engine/gpu/context';
import type { ModelConfig } from '../engine/model/config';
import type { FloatTensorSource } from '../engine/model/safetensors';
import { chooseWeightStorage, destroyWeights, keptTensors, uploadWeights, type KeptTensors, type ModelWeights, type StorageChoice, type WeightStorage } from '../engine/model/weights';
import { LlamaModel, type GraphOptions } from '../engine/model/llama';
import { LoraParams } from '../engine/model/lora-params';
import { defaultOptimConfig } from '../engine/optim/config';
import type { LoraAdapter } from '../adapters/lora';
import { BatchIterator, splitTrainVal, trainedTokens, type Batch, type BatchPosition, type TokenizedExample, type TokenizedPair } from '../data';
import type { PreferenceObjective } from '../engine/gpu/kernels/preference';
import type { PreferenceMetrics } from './objectives';
import { objectiveOf } from './recipe/run-record';
import { trainingWeightFit } from './memory-plan';
import { seqLenProblem } from './seq-len';
import { batchRows, objectiveDataProblem, type TrainSettings } from './settings';
import { DeviceLostError, LoraTrainer, type PendingStep, type TrainerCheckpoint } from './trainer';

/** The weight storage a run with these settings and engine options uses on this device ('auto' weighs the whole training plan); throws where it cannot run. */
export function resolveTrainingStorage(ctx: GpuContext, cfg: ModelConfig, settings: TrainSettings, engine: Pick<EngineOptions, 'weightStorage' | 'recompute'>, kept?: KeptTensors): StorageChoice {
  // The fit also refuses an explicit storage the device cannot hold, before anything is uploaded.
  return chooseWeightStorage(engine.weightStorage, ctx.caps.f16, cfg.dtype, trainingWeightFit(cfg, settings, engine.recompute, ctx.caps, undefined, kept));
}

/** Engine choices that are not training hyperparameters. */
export interface EngineOptions {
  /** Base weights f32/f16/q8/q4, or 'auto': the most precise whose training plan fits this device (resolveTrainingStorage). */
  weightStorage: 'auto' | WeightStorage;
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
  /** TRL's preference metrics of the step's pairs (DPO, ORPO). */
  preference?: PreferenceMetrics;
  /** The same on the held-out pairs, when `run` evaluated right after this step. */
  valPreference?: PreferenceMetrics;
}

export interface EvalMetrics {
  step: number;
  /** The objective's loss on the held-out data (mean cross-entropy, or the preference loss). */
  valLoss: number;
  valTargets: number;
  /** Preference objectives: TRL's metrics over the held-out pairs. */
  preference?: PreferenceMetrics;
}

/** Everything to continue a run exactly where it stopped (adapter, AdamW state, data position). */
export interface RunCheckpoint {
  version: 1;
  trainer: TrainerCheckpoint;
  position: BatchPosition;
  settings: TrainSettings;
  elapsedMs: number;
  /** DPO: the cached reference log-probs, [file row, chosen, rejected] per pair (absent: the base's, recomputed). */
  reference?: [number, number, number][];
}

/**
 * What a caller of `run` does with the run: it only publishes, stores and answers. Every
 * callback is awaited, so training never runs ahead of what the caller stored.
 */
export interface RunEvents {
  /** Stops the run after the step in flight (at once while paused; a step queued ahead is dropped); it checkpoints first. */
  signal?: AbortSignal;
  /**
   * A step's metrics, with its validation loss when it was evaluated (batching is the caller's),
   * in step order; the next step may already be running on the GPU.
   */
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

/** A step the session submitted: the trainer's pending step and what its metrics need. */
interface SubmittedStep {
  pending: PendingStep;
  /** The data position before its micro-batches (where a cancelled step puts the batches back). */
  position: BatchPosition;
  micro: Batch[];
  /** performance.now() when it was submitted. */
  t0: number;
}

const nonPadTokens = (b: Batch) => b.segmentIds.reduce((n, s) => n + (s !== 0 ? 1 : 0), 0);

export interface RunPlan {
  batches: BatchIterator;
  valBatches: BatchIterator | null;
  totalSteps: number;
}

/** What a run trains on: examples (SFT) or preference pairs (DPO, ORPO). */
export type TrainingData = readonly TokenizedExample[] | readonly TokenizedPair[];

const isPairs = (d: TrainingData): d is readonly TokenizedPair[] => d.length > 0 && 'chosen' in d[0];

/** The preference objective of the settings, or null for SFT. */
export function preferenceObjective(s: Pick<TrainSettings, 'objective' | 'beta' | 'labelSmoothing' | 'orpoLambda'>): PreferenceObjective | null {
  const o = objectiveOf(s);
  return o.kind === 'sft' ? null : o;
}

/** Refuses data the objective cannot train on, saying what the file holds and what to do. */
export function checkTrainingData(data: TrainingData, s: Pick<TrainSettings, 'objective'>): void {
  if (data.length === 0) return;
  const problem = objectiveDataProblem({ pairs: isPairs(data), count: data.length }, s.objective);
  if (problem) throw new Error(problem);
}

export class TrainingSession {
  readonly totalSteps: number;
  /** Rows per epoch (packed sequences, or single examples without packing). */
  readonly trainRows: number;
  readonly valRows: number;
  /** Training time of the run so far (restored from checkpoints), for ETA and records. */
  private elapsedBefore = 0;
  private recentStepMs = 0;
  /** performance.now() when the last step's metrics arrived: a pipelined step's time runs from there. */
  private lastStepDone = 0;
  private lastValLoss: number | null = null;
  /** Step of the newest checkpoint handed to onCheckpoint (or restored), so none is taken twice. */
  private checkpointedAt: number | null = null;
  private pauseRequested = false;
  /** Set while the run waits paused: resumes it. */
  private resumeWaiter: (() => void) | null = null;
  /** DPO's cached reference log-probs by file row (chosen, rejected); null until computed. */
  private reference: Map<number, [number, number]> | null = null;
  /** Adapter scale of the reference pass: 0 = the base, 1 = the adapter the run started from. */
  private referenceScale = 0;

  private constructor(
    readonly ctx: GpuContext,
    readonly cfg: ModelConfig,
    private readonly weights: ModelWeights,
    readonly trainer: LoraTrainer,
    private readonly batches: BatchIterator,
    private readonly valBatches: BatchIterator | null,
    readonly settings: TrainSettings,
    /** The engine options the run uses (defaults filled in); a run record keeps them. */
    readonly engine: EngineOptions,
  ) {
    this.totalSteps = stepsFor(settings, batches.batchesPerEpoch);
    this.trainRows = batches.rowsPerEpoch;
    this.valRows = valBatches?.rowsPerEpoch ?? 0;
  }

  /** The run's train/validation split of its tokenized examples (held-out evaluation asks for the same one). */
  static split<T>(examples: readonly T[], settings: Pick<TrainSettings, 'valSplit' | 'seed'>): { train: T[]; val: T[] } {
    return splitTrainVal(examples, { valFraction: settings.valSplit, seed: settings.seed });
  }

  /** The dataset rows a run trains on and holds out, as plan() splits them (pairs: the usable ones only). */
  static splitRows(data: TrainingData, settings: Pick<TrainSettings, 'valSplit' | 'seed' | 'seqLen'>): { train: number[]; val: number[] } {
    const split = isPairs(data) ? TrainingSession.split(usablePairs(data, settings.seqLen), settings) : TrainingSession.split(data, settings);
    return { train: split.train.map((e) => e.row), val: split.val.map((e) => e.row) };
  }

  /**
   * The run's data plan without a GPU: the split, the batches (packed unless the engine options
   * say not) and the optimizer steps. `open` uses it, so "planned steps" shown before a run are
   * the steps the run takes. Throws on data that cannot train.
   */
  static plan(examples: TrainingData, settings: TrainSettings, opts: Pick<OpenSessionOptions, 'engine' | 'padId'> = {}): RunPlan {
    const engine = { ...DEFAULT_ENGINE_OPTIONS, ...opts.engine };
    if (examples.length === 0) throw new Error('no training examples: the dataset has nothing to train on');
    checkTrainingData(examples, settings);
    const T = settings.seqLen;
    if (isPairs(examples)) return planPairs(examples, settings, opts.padId ?? 0);
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
  static async open(ctx: GpuContext, cfg: ModelConfig, store: FloatTensorSource, examples: TrainingData, settings: TrainSettings, opts: OpenSessionOptions = {}): Promise<TrainingSession> {
    const engine = { ...DEFAULT_ENGINE_OPTIONS, ...opts.engine };
    const T = settings.seqLen;
    const tooLong = seqLenProblem(T, cfg.maxPositionEmbeddings);
    if (tooLong) throw new Error(tooLong);
    const { batches, valBatches, totalSteps } = TrainingSession.plan(examples, settings, opts);
    const { storage } = resolveTrainingStorage(ctx, cfg, settings, engine, keptTensors(store));
    const weights = await uploadWeights(ctx, cfg, store, { storage, onProgress: opts.onUploadProgress });
    try {
      const trainer = buildTrainer(ctx, cfg, weights, settings, engine, totalSteps);
      return new TrainingSession(ctx, cfg, weights, trainer, batches, valBatches, settings, engine);
    } catch (e) {
      destroyWeights(ctx, weights);
      throw e;
    }
  }

  /** How the frozen base weights are stored, 'auto' resolved for this device. */
  get weightStorage(): ModelWeights['storage'] {
    return this.weights.storage;
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
    this.reference = c.reference ? new Map(c.reference.map(([row, ch, rj]) => [row, [ch, rj]])) : null;
    this.elapsedBefore = c.elapsedMs;
    this.checkpointedAt = c.trainer.step;
  }

  /** A checkpoint of the state after the last completed step. */
  async checkpoint(): Promise<RunCheckpoint> {
    const reference = this.reference ? { reference: [...this.reference].map(([row, [c, r]]) => [row, c, r] as [number, number, number]) } : {};
    return { version: 1, trainer: await this.trainer.checkpoint(this.batches.position), position: this.batches.position, settings: this.settings, elapsedMs: this.elapsedBefore, ...reference };
  }

  /**
   * Starts from an existing adapter (continuing a run); DPO's reference is then that adapter,
   * not the base. Before the first step only.
   */
  loadAdapter(adapter: LoraAdapter): void {
    if (this.stepsCompleted > 0 || this.reference) throw new Error('an adapter can only be loaded before the first step');
    this.trainer.loadAdapter(adapter);
    this.referenceScale = 1;
  }

  /**
   * DPO's reference log-probs of every pair (train and validation), by file row: computed once with
   * the adapter off (or as loaded), no dropout, then cached for the run. Null for other objectives.
   */
  async referenceLogps(): Promise<ReadonlyMap<number, readonly [number, number]> | null> {
    if (this.settings.objective !== 'dpo') return null;
    if (this.reference) return this.reference;
    const cache = new Map<number, [number, number]>();
    for (const it of [this.batches, this.valBatches]) {
      if (!it) continue;
      for (const b of it.epochBatches(0)) {
        const { logps } = await this.trainer.evalPreference(b, { loraScale: this.referenceScale });
        for (let i = 0; 2 * i < b.rows.length; i++) cache.set(b.rows[2 * i], [logps[2 * i], logps[2 * i + 1]]);
      }
    }
    this.reference = cache;
    return cache;
  }

  /** The reference log-probs of a batch's rows ([B], zeros on padding rows), or undefined without DPO. */
  private async refsOf(b: Batch): Promise<Float32Array | undefined> {
    const cache = await this.referenceLogps();
    if (!cache) return undefined;
    const out = new Float32Array(b.B);
    for (let i = 0; 2 * i < b.rows.length; i++) {
      const ref = cache.get(b.rows[2 * i]);
      if (!ref) throw new Error(`no reference log-probs for the pair of row ${b.rows[2 * i]}`);
      out[2 * i] = ref[0];
      out[2 * i + 1] = ref[1];
    }
    return out;
  }

  /** Mean validation loss over the whole validation split (token-weighted), or null without one. */
  async evaluate(opts: { loraScale?: number } = {}): Promise<EvalMetrics | null> {
    if (!this.valBatches) return null;
    if (this.trainer.objective) return this.evaluatePairs(opts);
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

  /** evaluate() for a preference objective: loss and metrics averaged over all held-out pairs. */
  private async evaluatePairs(opts: { loraScale?: number }): Promise<EvalMetrics | null> {
    let pairs = 0;
    let loss = 0;
    let targets = 0;
    const sums: Record<string, number> = {};
    for (const b of this.valBatches!.epochBatches(0)) {
      const r = await this.trainer.evalPreference(b, { loraScale: opts.loraScale, refLogps: await this.refsOf(b) });
      pairs += r.pairs;
      targets += b.numTargets;
      loss += r.loss * r.pairs;
      for (const [k, v] of Object.entries(r.metrics)) sums[k] = (sums[k] ?? 0) + v * r.pairs;
    }
    const mean = (x: number) => (pairs > 0 ? x / pairs : 0);
    const preference = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, mean(v)])) as unknown as PreferenceMetrics;
    const m = { step: this.stepsCompleted, valLoss: mean(loss), valTargets: targets, preference };
    this.lastValLoss = m.valLoss;
    return m;
  }

  /** One optimizer step (gradAccum micro-batches) with its metrics. */
  async step(): Promise<StepMetrics> {
    const q = await this.submitStep();
    this.trainer.commitStep(q.pending);
    return this.finishStep(q);
  }

  /** Takes the next step's micro-batches and queues its gradients and metrics (not its update) without waiting for the GPU. */
  private async submitStep(): Promise<SubmittedStep> {
    const s = this.settings;
    const t0 = performance.now();
    const position = this.batches.position;
    const micro: Batch[] = [];
    for (let i = 0; i < s.gradAccum; i++) micro.push(this.batches.next());
    const refs = s.objective === 'dpo' ? await Promise.all(micro.map((b) => this.refsOf(b) as Promise<Float32Array>)) : undefined;
    return { pending: this.trainer.submitStep(micro, refs), position, micro, t0 };
  }

  /** Drops a step queued and not committed: the adapter and moments never changed; the data position goes back before it. */
  private cancelStep(q: SubmittedStep): void {
    this.trainer.cancelStep(q.pending);
    this.batches.seek(q.position);
  }

  /** Reads a submitted step's metrics (the oldest in flight). */
  private async finishStep(q: SubmittedStep): Promise<StepMetrics> {
    const r = await this.trainer.finishStep(q.pending);
    const now = performance.now();
    // Queued behind the previous step, a pipelined step's GPU work starts when that one's ends at the latest.
    const ms = now - Math.max(q.t0, this.lastStepDone);
    this.lastStepDone = now;
    this.elapsedBefore += ms;
    const tokens = q.micro.reduce((n, b) => n + nonPadTokens(b), 0);
    this.recentStepMs = this.recentStepMs === 0 ? ms : 0.8 * this.recentStepMs + 0.2 * ms;
    return {
      step: r.step,
      totalSteps: this.totalSteps,
      epoch: q.micro[q.micro.length - 1].epoch,
      loss: r.loss,
      lr: r.lr,
      gradNorm: r.gradNorm,
      tokens,
      tokensPerSec: tokens / Math.max(1e-9, ms / 1000),
      elapsedMs: this.elapsedBefore,
      etaMs: this.recentStepMs * (this.totalSteps - r.step),
      ...(r.preference ? { preference: r.preference } : {}),
    };
  }

  /**
   * Whether `run` may submit the step after `step` before `step`'s metrics are read: not when
   * anything must see the state right after `step` (evaluation, checkpoint, samples, a pause or
   * stop request) or `step` is the last.
   */
  private mayRunAhead(step: number, ev: RunEvents): boolean {
    if (step >= this.totalSteps || this.pauseRequested || ev.signal?.aborted) return false;
    const sp = ev.samples;
    const evaluates = this.valBatches !== null && this.evalDue(step);
    const checkpoints = ev.onCheckpoint !== undefined && this.checkpointDue(step);
    const samples = sp !== undefined && sp.prompts.length > 0 && this.sampleDue(step);
    return !(evaluates || checkpoints || samples);
  }

  /** Whether the schedule wants an evaluation / a checkpoint / samples after `step` (default: the step just completed). */
  evalDue(step = this.stepsCompleted): boolean {
    const e = this.settings.evalEvery;
    return (e > 0 && step % e === 0) || step === this.totalSteps;
  }

  checkpointDue(step = this.stepsCompleted): boolean {
    const c = this.settings.checkpointEvery;
    return (c > 0 && step % c === 0) || step === this.totalSteps;
  }

  sampleDue(step = this.stepsCompleted): boolean {
    const e = this.settings.sampleEvery;
    return e > 0 && (step % e === 0 || step === this.totalSteps);
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
   * Each step's gradients are queued before the previous one's metrics are read (mayRunAhead).
   */
  async run(ev: RunEvents = {}): Promise<RunResult> {
    const watch = this.trainer.watch;
    const result = (stoppedBy: RunResult['stoppedBy']): RunResult => ({ stoppedBy, step: this.stepsCompleted, finalValLoss: this.lastValLoss });
    let next: SubmittedStep | null = null; // submitted, metrics not read yet
    try {
      for (;;) {
        if (!next) {
          // Nothing in flight: the state is that after stepsCompleted steps.
          if (this.pauseRequested && !ev.signal?.aborted && this.stepsCompleted < this.totalSteps) await this.pauseHere(ev);
          if (ev.signal?.aborted) {
            await this.checkpointOnce(ev);
            return result('cancelled');
          }
          if (this.stepsCompleted >= this.totalSteps) return result('completed');
          watch.check();
          next = await this.submitStep();
          this.trainer.commitStep(next.pending);
        }
        const cur: SubmittedStep = next; // committed
        next = this.mayRunAhead(cur.pending.step, ev) ? await this.submitStep() : null;
        const m = await this.finishStep(cur);
        if (this.evalDue()) {
          const e = await this.evaluate();
          if (e) m.valLoss = e.valLoss;
          if (e?.preference) m.valPreference = e.preference;
        }
        await ev.onStep?.(m);
        if (this.checkpointDue()) await this.checkpointOnce(ev);
        const sp = ev.samples;
        if (sp && sp.prompts.length > 0 && this.sampleDue()) {
          await sp.onSampling?.(this.stepsCompleted);
          await collectSamples(this.stepsCompleted, sp.prompts, (p) => watch.guard(sp.generate(p)), sp.onSample);
        }
        if (next) {
          // A pause or stop asked for once the next step was queued: drop it before its update, so the run stops right after this one.
          if (this.pauseRequested || ev.signal?.aborted) {
            this.cancelStep(next);
            next = null;
          } else this.trainer.commitStep(next.pending);
        }
      }
    } catch (e) {
      if (next) this.dropAfterFailure(next);
      throw await watch.explain(e);
    } finally {
      this.pauseRequested = false;
    }
  }

  /**
   * After a failed run, leaves no step counted that was not finished: `next` (submitted, not
   * finished) is dropped when uncommitted (the trainer does so itself after a non-finite step)
   * and the data position goes back before it; a committed step left unread makes the trainer
   * refuse to go on until a checkpoint is restored.
   */
  private dropAfterFailure(next: SubmittedStep): void {
    try {
      if (this.trainer.canCancel(next.pending)) this.trainer.cancelStep(next.pending);
      this.trainer.abandonInFlight('the run failed');
      this.batches.seek(next.position);
    } catch {
      // A lost device can refuse the clean-up too; the run's own error is the one to report.
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
    this.trainer.model.destroy();
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

/** Pairs with a trained token on both sides within T (the others cannot train). */
function usablePairs(pairs: readonly TokenizedPair[], T: number): TokenizedPair[] {
  return pairs.filter((p) => trainedTokens(p.chosen, T) > 0 && trainedTokens(p.rejected, T) > 0);
}

/** RunPlan over preference pairs: pairs with a trained token on both sides within T, unpacked, shuffled as pairs. */
function planPairs(pairs: readonly TokenizedPair[], settings: TrainSettings, padId: number): RunPlan {
  const T = settings.seqLen;
  const usable = usablePairs(pairs, T);
  if (usable.length === 0) {
    throw new Error(`none of the ${pairs.length} preference pairs has a trained token on both sides within the first ${T} tokens (the sequence length): raise the sequence length or shorten the prompts`);
  }
  const { train, val } = TrainingSession.split(usable, settings);
  const rows = (ps: readonly TokenizedPair[]) => ps.flatMap((p) => [p.chosen, p.rejected]);
  const batchOpts = { B: batchRows(settings), T, seed: settings.seed, packing: false, pairs: true, padId };
  const batches = new BatchIterator(rows(train), batchOpts);
  const valBatches = val.length > 0 ? new BatchIterator(rows(val), { ...batchOpts, shuffle: false }) : null;
  return { batches, valBatches, totalSteps: stepsFor(settings, batches.batchesPerEpoch) };
}

/**
 * The trainer a run with these settings trains with, on weights already uploaded: its LoRA,
 * optimizer (schedule over totalSteps) and graph. open() uses it, and so does "Profile one
 * step", so the profile measures the step a run would take.
 */
export function buildTrainer(ctx: GpuContext, cfg: ModelConfig, weights: ModelWeights, settings: TrainSettings, engine: EngineOptions, totalSteps: number): LoraTrainer {
  const model = new LlamaModel(ctx, cfg, weights);
  const lora = LoraParams.create(ctx, cfg, { r: settings.rank, alpha: settings.alpha, dropout: settings.dropout, targetModules: [...settings.targets], useRslora: settings.rslora }, settings.seed);
  const optim = defaultOptimConfig({
    schedule: { kind: settings.schedule, lr: settings.learningRate, warmupSteps: Math.min(settings.warmupSteps, totalSteps), totalSteps },
    weightDecay: engine.weightDecay,
    maxGradNorm: engine.maxGradNorm,
    gradAccumSteps: settings.gradAccum,
  });
  const objective = preferenceObjective(settings) ?? undefined;
  return new LoraTrainer(ctx, model, lora, optim, { B: batchRows(settings), T: settings.seqLen, seed: settings.seed, recompute: engine.recompute, objective });
}

/** Optimizer steps of a run: maxSteps when set, else whole epochs of micro-batches / accumulation. */

export function stepsFor(s: Pick<TrainSettings, 'maxSteps' | 'epochs' | 'gradAccum'>, microBatchesPerEpoch: number): number {
  if (s.maxSteps > 0) return s.maxSteps;
  return Math.max(1, Math.floor((microBatchesPerEpoch * s.epochs) / s.gradAccum));
}
