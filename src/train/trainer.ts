// LoraTrainer: optimizer steps of LoRA training on the GPU. One optimizer step = one submit
// per micro-batch (forward, chunked LM head + cross-entropy, backward accumulating LoRA
// gradients) with the last one also computing the loss, the global gradient norm, the clip
// factor and the non-finite flag on the GPU, then one submit applying AdamW (which skips the
// update by itself when anything is NaN/Inf). The step then reads back 8 floats, once.
// A preference objective (DPO, ORPO) runs each micro-batch's LM head twice: first the per-row
// losses, from which preference_weights computes each sequence's log-prob, the loss, the metrics
// and the sequence's gradient weight on the GPU; then the cross-entropy backward with those row
// weights. Rows (2i, 2i+1) are the chosen and rejected sequences of pair i. Still one readback.
// Steps pipeline: submitStep queues a step's forward, backward, gradient norm and metrics copy
// and starts their readback without waiting; commitStep queues its AdamW update; finishStep reads
// the metrics back, oldest first. So step n+1's gradients can run on the GPU while the host reads
// step n's metrics, and its update is committed only once nothing asks to stop at step n (a
// pause, a stop, a non-finite step n): cancelStep drops an uncommitted step, leaving the adapter
// and moments untouched. Nothing in a step needs a host value of the step before it (the clip
// factor and the skip flag stay on the GPU; the lr, the dropout seed and AdamW's t come from
// the count of steps submitted).
import type { GpuContext, Live, Recorder, TapeStore } from '../engine/gpu/context';
import { adamwUpdate } from '../engine/gpu/kernels/adamw';
import { GRAD_STATS, GRAD_STATS_BYTES, globalGradNorm, gradNormPartialCount, reduceSum } from '../engine/gpu/kernels/norm';
import { PREFERENCE_STATS, PREFERENCE_STATS_FLOATS, preferenceWeights, type PreferenceObjective } from '../engine/gpu/kernels/preference';
import type { PreferenceMetrics } from './objectives';
import { type GraphOptions, type LoraRun, type LlamaModel, type TokenBatch, TrainingGraph, countTargets } from '../engine/model/llama';
import { type LoraParams, slotKey } from '../engine/model/lora-params';
import { type OptimConfig, validateOptimConfig } from '../engine/optim/config';
import { mixSeed } from '../engine/optim/rng';
import { learningRate } from '../engine/optim/schedule';
import type { LoraAdapter, LoraWeights } from '../adapters/lora';

export interface TrainerOptions {
  /** Micro-batch shape; every batch given to step/evalLoss must have it. */
  B: number;
  T: number;
  /** Seed of the LoRA dropout masks (with the step and micro-batch index). */
  seed: number;
  /** Recompute each layer's activations in the backward (less memory, ~1/3 more compute); 'auto' above activationBudgetBytes. */
  recompute?: GraphOptions['recompute'];
  activationBudgetBytes?: number;
  logitsChunkRows?: number;
  /** A preference objective: B rows are B/2 pairs, each step needs the pairs' reference log-probs (DPO). */
  objective?: PreferenceObjective;
}

/** The graph options a trainer builds its TrainingGraph with (also what the memory plan plans). */
export function trainerGraphOptions(o: Pick<TrainerOptions, 'recompute' | 'activationBudgetBytes' | 'logitsChunkRows'>): GraphOptions {
  return { recompute: o.recompute, activationBudgetBytes: o.activationBudgetBytes, logitsChunkRows: o.logitsChunkRows };
}

const PREF_STATS_BYTES = 4 * PREFERENCE_STATS_FLOATS;

/**
 * Sizes of the trainer's own buffers (loss, gradient statistics, norm partials, two readbacks) for a
 * LoRA of `loraFloats`; with `preferenceRows` (B of a preference objective) also its per-sequence
 * buffers (row weights, log-probs, reference log-probs) and statistics.
 */
export function trainerBufferBytes(loraFloats: number, preferenceRows = 0) {
  const row = 4 * preferenceRows; // 0: no such buffer
  return {
    loss: 16,
    gradStats: GRAD_STATS_BYTES,
    partials: 4 * gradNormPartialCount([loraFloats]),
    readback: 32 + (row > 0 ? PREF_STATS_BYTES : 0),
    readbackPong: 32 + (row > 0 ? PREF_STATS_BYTES : 0),
    prefWeights: row,
    prefLogps: row,
    prefRefLogps: row,
    prefStats: row > 0 ? PREF_STATS_BYTES : 0,
  };
}

/** Pairs (both sides have a trained target) and chosen completion tokens of a preference batch. */
export function preferenceCounts(b: Pick<TokenBatch, 'B' | 'T' | 'targets'>): { pairs: number; chosenTokens: number } {
  let pairs = 0;
  let chosenTokens = 0;
  const rowTargets = (r: number) => {
    let n = 0;
    for (let t = r * b.T; t < (r + 1) * b.T; t++) if (b.targets[t] !== -100) n++;
    return n;
  };
  for (let i = 0; 2 * i + 1 < b.B; i++) {
    const c = rowTargets(2 * i);
    if (c > 0 && rowTargets(2 * i + 1) > 0) {
      pairs++;
      chosenTokens += c;
    }
  }
  return { pairs, chosenTokens };
}

/** The stats buffer (PREFERENCE_STATS) as TRL's metric names. */
export function preferenceMetricsOf(stats: ArrayLike<number>): PreferenceMetrics {
  const S = PREFERENCE_STATS;
  return {
    'rewards/chosen': stats[S.rewardsChosen],
    'rewards/rejected': stats[S.rewardsRejected],
    'rewards/margins': stats[S.margins],
    'rewards/accuracies': stats[S.accuracies],
    'logps/chosen': stats[S.logpsChosen],
    'logps/rejected': stats[S.logpsRejected],
  };
}

/** What a preference forward (no gradients) measured on one batch. */
export interface PreferenceEval {
  /** The loss and metrics of the batch's pairs (means over them). */
  loss: number;
  metrics: PreferenceMetrics;
  pairs: number;
  /** Summed completion log-prob of every row (chosen, rejected, chosen, ...). */
  logps: Float32Array;
}

export interface StepResult {
  /** Optimizer steps completed, including this one. */
  step: number;
  /** Mean cross-entropy over all targets of the step's micro-batches. */
  loss: number;
  /** Global L2 norm of the LoRA gradients before clipping. */
  gradNorm: number;
  /** Learning rate applied in this step. */
  lr: number;
  /** Clip factor applied to the gradients (1 = not clipped). */
  clip: number;
  numTargets: number;
  /** TRL's preference metrics of the step's pairs (preference objectives only). */
  preference?: PreferenceMetrics;
}

/** A step submitted (recorded and queued on the GPU) whose metrics are not read back yet. */
export interface PendingStep {
  /** The optimizer step this is (1-based, counting restored steps). */
  readonly step: number;
  readonly lr: number;
  readonly numTargets: number;
  /** The readback of its metrics, started at submit. */
  readonly read: Promise<Float32Array>;
  /** Whether its AdamW update is queued (commitStep); until then cancelStep can drop it. */
  committed: boolean;
}

export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
}

/** The GPU device was lost (driver reset, tab in background too long, destroy()): resume from a checkpoint on a new device. */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  /** What the device said: its lost message, else the reason. */
  readonly detail: string;
  constructor(info: GPUDeviceLostInfo) {
    super(`the GPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''}); the run can resume from its last checkpoint on a new device`);
    this.detail = info.message || info.reason;
  }
}

/** How long a failed GPU call waits for `device.lost` to tell whether the device caused it (lost may settle after the failure). */
const LOST_SETTLE_MS = 250;

/**
 * The one place that turns a lost device into DeviceLostError: when `device.lost` has
 * resolved, when it resolves during an awaited GPU call, or when a call fails because of it.
 */
export class DeviceWatch {
  private info: GPUDeviceLostInfo | null = null;
  /** Rejects with DeviceLostError once the device is lost (never resolves). */
  readonly lost: Promise<never>;

  constructor(device: GPUDevice) {
    this.lost = device.lost.then((info) => {
      this.info = info;
      throw new DeviceLostError(info);
    });
    this.lost.catch(() => undefined); // observed by whoever races it; never an unhandled rejection
  }

  /** Throws DeviceLostError if the device is already lost. */
  check(): void {
    if (this.info) throw new DeviceLostError(this.info);
  }

  /** `p`'s value, or DeviceLostError when the device is lost first or `p` fails because of it. */
  async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await Promise.race([p, this.lost]);
    } catch (e) {
      throw await this.explain(e);
    }
  }

  /** DeviceLostError when `e` came from a lost device, else `e` itself. */
  async explain(e: unknown): Promise<unknown> {
    if (e instanceof DeviceLostError) return e;
    const info = this.info ?? (await Promise.race([this.lost.catch(() => this.info), new Promise<null>((r) => setTimeout(() => r(null), LOST_SETTLE_MS))]));
    return info ? new DeviceLostError(info) : e;
  }
}

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainerCheckpoint {
  version: 1;
  /** Optimizer steps completed. */
  step: number;
  seed: number;
  /** Flat LoRA parameters and AdamW moments (layout of LoraParams.layout). */
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  layoutFloats: number;
  /** The caller's data position (e.g. the batch iterator's epoch/index), stored verbatim. */
  dataPosition: unknown;
}

export class LoraTrainer {
  readonly graph: TrainingGraph;
  private stepsDone = 0;
  /** Steps submitted whose metrics are not read yet, oldest first. */
  private readonly inFlight: PendingStep[] = [];
  /** Why the GPU state no longer matches stepsDone (a step ran after one that failed); restore() clears it. */
  private broken: string | null = null;
  private readonly lossBuf: GPUBuffer;
  private readonly gradStats: GPUBuffer;
  private readonly partials: GPUBuffer;
  /**
   * Ping-pong: step n copies its metrics into readback[n % 2], so step n+1 never overwrites
   * metrics not yet read (ctx.read also queues its staging copy at submit, before the next step).
   */
  private readonly readback: [GPUBuffer, GPUBuffer];
  /** A preference objective's buffers: row weights, row log-probs, reference log-probs [B], stats. */
  private readonly pref: { weights: GPUBuffer; logps: GPUBuffer; refLogps: GPUBuffer; stats: GPUBuffer } | null = null;
  /** Device loss of every GPU call this trainer makes (the session's loop uses it too). */
  readonly watch: DeviceWatch;
  /** Each micro-batch's recording of a step, replayed on later steps (Recorder.replayOr). */
  private readonly tapes: TapeStore = new Map();

  constructor(
    private readonly ctx: GpuContext,
    readonly model: LlamaModel,
    readonly lora: LoraParams,
    readonly optim: OptimConfig,
    private readonly opts: TrainerOptions,
  ) {
    validateOptimConfig(optim);
    this.graph = new TrainingGraph(model, lora, opts.B, opts.T, trainerGraphOptions(opts));
    const size = trainerBufferBytes(lora.layout.totalFloats, opts.objective ? opts.B : 0);
    this.lossBuf = ctx.createBuffer(size.loss, 'trainer.loss');
    this.gradStats = ctx.createBuffer(size.gradStats, 'trainer.gradStats');
    this.partials = ctx.createBuffer(size.partials, 'trainer.normPartials');
    this.readback = [ctx.createBuffer(size.readback, 'trainer.readback.0'), ctx.createBuffer(size.readbackPong, 'trainer.readback.1')];
    if (opts.objective) {
      if (opts.B % 2 !== 0) throw new Error(`a preference objective needs an even number of rows per micro-batch (pairs × 2), got ${opts.B}`);
      this.pref = {
        weights: ctx.createBuffer(size.prefWeights, 'trainer.pref.weights'),
        logps: ctx.createBuffer(size.prefLogps, 'trainer.pref.logps'),
        refLogps: ctx.createBuffer(size.prefRefLogps, 'trainer.pref.refLogps'),
        stats: ctx.createBuffer(size.prefStats, 'trainer.pref.stats'),
      };
    }
    this.watch = new DeviceWatch(ctx.device);
  }

  /** Steps whose metrics are known (a step in flight counts once finishStep has read it). */
  get stepsCompleted(): number {
    return this.stepsDone;
  }

  /** Steps submitted and not finished yet. */
  get stepsInFlight(): number {
    return this.inFlight.length;
  }

  /** Steps submitted so far: the next step's index for the lr, dropout seed and AdamW's t. */
  private get stepsSubmitted(): number {
    return this.stepsDone + this.inFlight.length;
  }

  /** Throws unless the GPU state is exactly that after stepsCompleted steps (nothing in flight, nothing abandoned). */
  private requireSettled(what: string): void {
    if (this.broken) throw new Error(`${what}: ${this.broken}`);
    if (this.inFlight.length > 0) throw new Error(`${what} needs the ${this.inFlight.length} step(s) in flight finished first (finishStep)`);
  }

  /** Whether `p` is the newest step in flight and not committed (cancelStep can drop it). */
  canCancel(p: PendingStep): boolean {
    return this.inFlight[this.inFlight.length - 1] === p && !p.committed;
  }

  /** Drops the newest step in flight before its update was committed: the adapter and moments never change, the next step submitted is that step again. */
  cancelStep(p: PendingStep): void {
    if (!this.canCancel(p)) throw new Error(`cancelStep: step ${p.step} is not the newest step in flight or its update is already committed`);
    this.inFlight.pop();
  }

  /**
   * Drops the steps in flight (their metrics are never read): an uncommitted newest one is
   * cancelled; committed ones changed the adapter without being counted, so the trainer then
   * refuses to go on until restore(). For a run that fails while steps are queued.
   */
  abandonInFlight(reason: string): void {
    const last = this.inFlight[this.inFlight.length - 1];
    if (last && this.canCancel(last)) this.cancelStep(last);
    if (this.inFlight.length === 0) return;
    this.broken = `steps ${this.inFlight[0].step}–${this.inFlight[this.inFlight.length - 1].step} ran on the GPU after ${reason} without being counted; restore a checkpoint to continue`;
    this.inFlight.length = 0;
  }

  /** The preference objective this trainer optimises, or undefined (SFT). */
  get objective(): PreferenceObjective | undefined {
    return this.opts.objective;
  }

  /** The learning rate the next step will use. */
  get nextLr(): number {
    return learningRate(this.optim.schedule, this.stepsSubmitted);
  }

  /**
   * One optimizer step over `microBatches` (gradAccumSteps of them, or one batch). The loss is
   * the mean over all their targets, so accumulation equals one big batch. Throws
   * NonFiniteError (after the GPU skipped the update) when the loss or a gradient is NaN/Inf.
   */
  async step(microBatches: TokenBatch | TokenBatch[], refLogps?: readonly ArrayLike<number>[]): Promise<StepResult> {
    const p = this.submitStep(microBatches, refLogps);
    this.commitStep(p);
    return this.finishStep(p);
  }

  /**
   * Queues one optimizer step's gradients and metrics (as step, without the update) and starts
   * their readback, without waiting for the GPU: the caller may submit the next step before
   * finishing this one, once this one is committed.
   */
  submitStep(microBatches: TokenBatch | TokenBatch[], refLogps?: readonly ArrayLike<number>[]): PendingStep {
    this.watch.check();
    if (this.broken) throw new Error(`step: ${this.broken}`);
    const last = this.inFlight[this.inFlight.length - 1];
    if (last && !last.committed) throw new Error(`step ${last.step + 1} cannot be submitted before step ${last.step}'s update is committed (commitStep) or cancelled`);
    const batches = Array.isArray(microBatches) ? microBatches : [microBatches];
    if (batches.length !== this.optim.gradAccumSteps) throw new Error(`step got ${batches.length} micro-batches, gradAccumSteps is ${this.optim.gradAccumSteps}`);
    const numTargets = batches.reduce((s, b) => s + countTargets(b), 0);
    const step = this.stepsSubmitted + 1;
    if (numTargets === 0) throw new Error(`step ${step}: no trained tokens in its batches (every target is -100)`);
    const lr = this.recordStep(batches, numTargets, true, refLogps);
    // ctx.read queues its copy to a staging buffer now, before any later step is recorded.
    const read = this.readOrLost(this.readback[(step - 1) % 2], this.pref ? 8 + PREFERENCE_STATS_FLOATS : 8);
    read.catch(() => undefined); // observed by finishStep; an abandoned step's failure is no unhandled rejection
    const p: PendingStep = { step, lr, numTargets, read, committed: false };
    this.inFlight.push(p);
    return p;
  }

  /**
   * Queues the AdamW update of `p`, the newest step submitted: it reads the gradients and the
   * GPU's clip factor and skip flag that p left, which no other step has touched since.
   */
  commitStep(p: PendingStep): void {
    if (!this.canCancel(p)) throw new Error(`commitStep: step ${p.step} is not the newest step in flight or is already committed`);
    this.watch.check();
    const rec = this.ctx.recorder(`train step ${p.step} update`);
    this.recordUpdate(rec, p.step, p.lr);
    rec.submit();
    p.committed = true;
  }

  /**
   * Reads back the metrics of the oldest step in flight, which must be `p` (steps finish in
   * the order they were submitted) and committed. Throws NonFiniteError (the GPU skipped that
   * update) when its loss or a gradient is NaN/Inf; steps queued after it are then dropped
   * (abandonInFlight).
   */
  async finishStep(p: PendingStep): Promise<StepResult> {
    if (this.inFlight[0] !== p) throw new Error(`finishStep: step ${p.step} is not the oldest step in flight (${this.inFlight[0]?.step ?? 'none'}); steps finish in submission order`);
    if (!p.committed) throw new Error(`finishStep: step ${p.step}'s update is not committed (commitStep)`);
    const r = await p.read;
    this.inFlight.shift();
    const loss = r[0];
    const stats = r.subarray(4, 8);
    const preference = this.pref ? preferenceMetricsOf(r.subarray(8)) : undefined;
    if (stats[GRAD_STATS.nonFinite] !== 0) {
      this.abandonInFlight(`step ${p.step} was non-finite`);
      throw new NonFiniteError(`step ${p.step}: the loss (${loss}) or the LoRA gradients (norm ${stats[GRAD_STATS.norm]}) are NaN or infinite; the update was skipped. Lower the learning rate or check the data and the model's dtype.`);
    }
    this.stepsDone = p.step;
    return { step: p.step, loss, gradNorm: stats[GRAD_STATS.norm], lr: p.lr, clip: stats[GRAD_STATS.clip], numTargets: p.numTargets, ...(preference ? { preference } : {}) };
  }

  /**
   * Records the optimizer step's command buffers (one per micro-batch) and submits them, or
   * with submit = false only encodes them and drops them: the bench's measure of the host cost
   * of a step (the GPU runs nothing, the trainer's state does not change). Returns the lr.
   */
  recordStep(batches: readonly TokenBatch[], numTargets: number, submit: boolean, refLogps?: readonly ArrayLike<number>[]): number {
    const lossScale = 1 / numTargets;
    const lr = learningRate(this.optim.schedule, this.stepsSubmitted);
    const { ctx, graph, pref } = this;
    const counts = pref ? batches.map(preferenceCounts) : [];
    const pairs = counts.reduce((n, c) => n + c.pairs, 0);
    const chosenTokens = counts.reduce((n, c) => n + c.chosenTokens, 0);
    if (pref && pairs === 0) throw new Error(`step ${this.stepsSubmitted + 1}: no complete preference pair in its batches`);
    if (pref && this.opts.objective?.kind === 'dpo' && refLogps?.length !== batches.length) throw new Error(`DPO needs the reference log-probs of every micro-batch (${batches.length}), got ${refLogps?.length ?? 0}`);
    const t = this.stepsSubmitted + 1;
    const parity = this.stepsSubmitted % 2;
    for (let i = 0; i < batches.length; i++) {
      graph.writeBatch(batches[i]);
      if (pref) ctx.write(pref.refLogps, Float32Array.from(refLogps?.[i] ?? new Float32Array(graph.B)));
      const rec = ctx.recorder(`train step ${t}.${i}`);
      // Everything a step's recording depends on: the values (re-packed by a replay, given to
      // the launchers as Live arguments) and the key (the rest: which micro-batch, the readback buffer, the update).
      const values = { seed: mixSeed(this.opts.seed, this.stepsSubmitted, i), lossScale, lr, t, invPairs: 1 / Math.max(1, pairs), invChosenTokens: 1 / Math.max(1, chosenTokens) };
      const key = `${i}/${batches.length}/${parity}/${submit}`;
      rec.replayOr(this.tapes, key, values, () => this.recordMicroBatch(rec, i, batches.length, submit, parity));
      if (submit) rec.submit();
      else {
        rec.finish();
        ctx.releaseTransientsAfterSubmit(); // never submitted: nothing will read them
      }
    }
    return lr;
  }

  /** Micro-batch i of n of a step into `rec`; its step values (seed, loss scale, lr, t, preference scalars) are rec.values. */
  private recordMicroBatch(rec: Recorder, i: number, n: number, submit: boolean, parity: number): void {
    const { ctx, graph, lora, pref } = this;
    const run: LoraRun = { scale: 1, dropout: lora.settings.dropout, seed: (v) => v.seed };
    const BT = graph.BT;
    // The step's loss: SFT sums per-row losses; a preference objective accumulates its own stats.
    const lossAt = pref ? { binding: pref.stats, index: PREFERENCE_STATS.loss } : { binding: this.lossBuf, index: 0 };
    if (i === 0) rec.clear(lora.grads);
    graph.recordForward(rec, run);
    if (pref) {
      graph.recordLoss(rec, 1, false);
      preferenceWeights(ctx, rec, pref.weights, pref.logps, pref.stats, graph.buf.losses, graph.buf.targets, pref.refLogps, graph.B, graph.T, this.opts.objective!, {
        invPairs: (v) => v.invPairs,
        invChosenTokens: (v) => v.invChosenTokens,
        accumulate: i > 0,
      });
      graph.recordLoss(rec, 1, true, pref.weights);
    } else {
      graph.recordLoss(rec, (v) => v.lossScale, true);
    }
    graph.recordBackward(rec, run);
    if (!pref) reduceSum(ctx, rec, this.lossBuf, graph.buf.losses, BT, { scale: (v) => v.lossScale, accumulate: i > 0 });
    if (i === n - 1) {
      const N = lora.layout.totalFloats;
      globalGradNorm(ctx, rec, this.gradStats, this.partials, [{ binding: lora.grads, n: N }], this.optim.maxGradNorm, lossAt);
      if (!submit) this.recordUpdate(rec, (v) => v.t, (v) => v.lr); // the host cost of a whole step (submitted, commitStep records it)
      const readback = this.readback[parity];
      rec.copy(lossAt.binding, 0, readback, 0, 16);
      rec.copy(this.gradStats, 0, readback, 16, GRAD_STATS_BYTES);
      if (pref) rec.copy(pref.stats, 0, readback, 32, PREF_STATS_BYTES);
    }
  }

  /** AdamW of optimizer step `step` (its t) at `lr`, from the gradients and gradStats the step left. */
  private recordUpdate(rec: Recorder, step: Live, lr: Live): void {
    const o = this.optim;
    const { lora } = this;
    adamwUpdate(this.ctx, rec, lora.params, lora.m, lora.v, lora.grads, this.gradStats, lora.layout.totalFloats, { lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, t: step });
  }

  /** Reads back floats, or throws DeviceLostError if the device is (or gets) lost first. */
  private readOrLost(b: GPUBuffer, n: number): Promise<Float32Array> {
    return this.watch.guard(this.ctx.readF32(b, n));
  }

  /** Mean loss of a batch with the current adapter (no dropout, no gradients). */
  async evalLoss(batch: TokenBatch, opts: { loraScale?: number } = {}): Promise<{ loss: number; numTargets: number }> {
    this.watch.check();
    this.requireSettled('evalLoss');
    const n = countTargets(batch);
    if (n === 0) return { loss: 0, numTargets: 0 };
    const { ctx, graph } = this;
    graph.writeBatch(batch);
    const rec = ctx.recorder('eval');
    graph.recordForward(rec, { scale: opts.loraScale ?? 1, dropout: 0, seed: 0 });
    graph.recordLoss(rec, 1 / n, false);
    reduceSum(ctx, rec, this.lossBuf, graph.buf.losses, graph.BT, { scale: 1 / n });
    rec.submit();
    const [loss] = await this.readOrLost(this.lossBuf, 1);
    return { loss, numTargets: n };
  }

  /**
   * A preference objective's loss, metrics and per-row log-probs on one batch of pairs, without
   * dropout or gradients. loraScale 0 = the base model (DPO's reference); refLogps as for step.
   */
  async evalPreference(batch: TokenBatch, opts: { loraScale?: number; refLogps?: ArrayLike<number> } = {}): Promise<PreferenceEval> {
    this.watch.check();
    this.requireSettled('evalPreference');
    const pref = this.pref;
    if (!pref || !this.opts.objective) throw new Error('evalPreference needs a trainer built with a preference objective');
    const { ctx, graph } = this;
    const { pairs, chosenTokens } = preferenceCounts(batch);
    graph.writeBatch(batch);
    ctx.write(pref.refLogps, Float32Array.from(opts.refLogps ?? new Float32Array(graph.B)));
    const rec = ctx.recorder('eval preference');
    graph.recordForward(rec, { scale: opts.loraScale ?? 1, dropout: 0, seed: 0 });
    graph.recordLoss(rec, 1, false);
    preferenceWeights(ctx, rec, pref.weights, pref.logps, pref.stats, graph.buf.losses, graph.buf.targets, pref.refLogps, graph.B, graph.T, this.opts.objective, {
      invPairs: 1 / Math.max(1, pairs),
      invChosenTokens: 1 / Math.max(1, chosenTokens),
      accumulate: false,
    });
    rec.submit();
    const [stats, logps] = await this.watch.guard(Promise.all([this.ctx.readF32(pref.stats, PREFERENCE_STATS_FLOATS), this.ctx.readF32(pref.logps, graph.B)]));
    return { loss: stats[PREFERENCE_STATS.loss], metrics: preferenceMetricsOf(stats), pairs, logps };
  }

  /** The trained adapter in the exporters' format (src/adapters). */
  async exportAdapter(baseModel: string, revision: string | null = null): Promise<LoraAdapter> {
    this.requireSettled('exportAdapter');
    const s = this.lora.settings;
    const flat = await this.watch.guard(this.lora.readFlat('params'));
    const layers: LoraAdapter['layers'] = Array.from({ length: this.model.cfg.numLayers }, () => ({}));
    for (const { slot, A, B } of this.lora.unpack(flat).values()) {
      const w: LoraWeights = { A, B, inFeatures: slot.inFeatures, outFeatures: slot.outFeatures };
      layers[slot.layer][slot.module] = w;
    }
    return {
      config: { r: s.r, alpha: s.alpha, dropout: s.dropout, targetModules: [...s.targetModules], useRslora: s.useRslora, baseModel, revision },
      layers,
    };
  }

  /** Replaces the adapter weights (e.g. an imported PEFT adapter); moments are left as they are. */
  loadAdapter(adapter: LoraAdapter): void {
    this.requireSettled('loadAdapter');
    const mods = new Map<string, { A: Float32Array; B: Float32Array }>();
    adapter.layers.forEach((l, i) => {
      for (const [m, w] of Object.entries(l)) if (w) mods.set(slotKey(i, m as never), { A: w.A, B: w.B });
    });
    this.lora.writeFlat('params', this.lora.pack(mods));
  }

  /** The state after stepsCompleted steps; refuses while steps are in flight (finish them first). */
  async checkpoint(dataPosition: unknown = null): Promise<TrainerCheckpoint> {
    this.requireSettled('checkpoint');
    const [params, m, v] = await this.watch.guard(Promise.all([this.lora.readFlat('params'), this.lora.readFlat('m'), this.lora.readFlat('v')]));
    return { version: 1, step: this.stepsDone, seed: this.opts.seed, params, m, v, layoutFloats: this.lora.layout.totalFloats, dataPosition };
  }

  /** Restores a checkpoint taken from a trainer with the same model, LoRA settings and seed. */
  restore(c: TrainerCheckpoint): void {
    if (c.version !== 1) throw new Error(`unknown checkpoint version ${String(c.version)}`);
    if (c.layoutFloats !== this.lora.layout.totalFloats) throw new Error(`checkpoint holds ${c.layoutFloats} LoRA floats, this adapter layout has ${this.lora.layout.totalFloats} (different rank or target modules?)`);
    if (c.seed !== this.opts.seed) throw new Error(`checkpoint was trained with seed ${c.seed}, this trainer has ${this.opts.seed}`);
    if (this.inFlight.length > 0) throw new Error(`restore: ${this.inFlight.length} step(s) are in flight; finish, cancel or abandon them first`);
    this.lora.writeFlat('params', c.params);
    this.lora.writeFlat('m', c.m);
    this.lora.writeFlat('v', c.v);
    this.stepsDone = c.step;
    this.broken = null;
  }

  destroy(): void {
    this.tapes.clear();
    this.graph.destroy();
    for (const b of [this.lossBuf, this.gradStats, this.partials, ...this.readback, ...(this.pref ? Object.values(this.pref) : [])]) this.ctx.destroy(b);
  }
}
