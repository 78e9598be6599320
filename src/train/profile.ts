// "Profile one step": times whole optimizer steps of a trainer and, where the adapter grants
// timestamp-query, one more step kernel by kernel (engine/gpu/profile.ts). The bench
// (`npm run bench -- --profile`) and the studio's GPU screen (through the worker) both call it.
import type { GpuContext } from '../engine/gpu/context';
import { aggregateProfile, stepGaps, TimestampProfiler, type KernelProfile } from '../engine/gpu/profile';
import type { TokenBatch } from '../engine/model/llama';
import type { LoraTrainer, PendingStep } from './trainer';

export interface StepProfile {
  /** Whether the per-kernel part ran (the adapter grants timestamp-query). */
  timestamps: boolean;
  /** What the numbers are, in a sentence (says plainly when kernels could not be timed). */
  note: string;
  B: number;
  T: number;
  /** Dispatches in one optimizer step. */
  dispatches: number;
  /** Wall time of each timed whole step (submit to loss read back), without the profiler. */
  stepMs: number[];
  /** The per-kernel profile of one further step; null without timestamp-query. */
  kernels: KernelProfile | null;
}

/**
 * A batch of B rows × T tokens with every target trained: timing depends on the shapes only,
 * so the profile needs no dataset. Token ids are spread over the vocabulary deterministically.
 */
export function syntheticBatch(B: number, T: number, V: number): TokenBatch {
  const n = B * T;
  const inputIds = new Uint32Array(n);
  const targets = new Int32Array(n);
  const positions = new Uint32Array(n);
  const segmentIds = new Uint32Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    inputIds[i] = (i * 7919) % V;
    targets[i] = i % T === T - 1 ? -100 : ((i + 1) * 7919) % V;
    positions[i] = i % T;
  }
  return { B, T, inputIds, targets, positions, segmentIds };
}

/**
 * Runs 1 untimed step (pipeline compiles), `steps` timed ones, then (with timestamp-query)
 * one profiled step, every dispatch in its own timed pass. The trainer (built on `ctx`) takes
 * those optimizer steps: profile a trainer built for it, not a run's.
 */
export async function profileTrainerStep(ctx: GpuContext, trainer: LoraTrainer, batches: TokenBatch[], opts: { steps?: number; refLogps?: readonly ArrayLike<number>[] } = {}): Promise<StepProfile> {
  const steps = opts.steps ?? 2;
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`profileTrainerStep: steps=${steps} must be a positive integer`);
  if (ctx.timer) throw new Error('profileTrainerStep: another profile is running on this device');
  const { B, T } = batches[0];
  await trainer.step(batches, opts.refLogps);
  const before = ctx.dispatches;
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await trainer.step(batches, opts.refLogps);
    stepMs.push(performance.now() - t0);
  }
  const dispatches = (ctx.dispatches - before) / steps;
  if (!ctx.caps.timestamps) {
    return { timestamps: false, note: 'This adapter does not grant timestamp-query: kernels cannot be timed on the GPU, so only whole-step times are reported.', B, T, dispatches, stepMs, kernels: null };
  }
  const profiler = new TimestampProfiler(ctx);
  ctx.timer = profiler;
  try {
    await trainer.step(batches, opts.refLogps);
  } finally {
    ctx.timer = null;
  }
  try {
    const kernels = aggregateProfile(await profiler.read());
    const note = 'GPU timestamps of one step with each dispatch in its own compute pass (a little slower than a normal step); GFLOP/s and GB/s from the launchers\' cost model; the span includes copies and gaps between kernels.';
    return { timestamps: true, note, B, T, dispatches, stepMs, kernels };
  } finally {
    profiler.destroy();
  }
}

/**
 * The GPU's idle time around consecutive optimizer steps pipelined as TrainingSession.run does
 * (step k+1's gradients queued before step k's metrics are read back, its update after): `steps`
 * (≥ 2) steps with every dispatch timed, then stepGaps between consecutive submissions (each
 * step's gradients and its update). Null without timestamp-query.
 * An upper bound: timing every dispatch (a pass each) adds host work to each step's encoding.
 * The trainer takes those steps: measure with a trainer built for it.
 */
export async function measureStepGaps(ctx: GpuContext, trainer: LoraTrainer, batches: TokenBatch[], opts: { steps?: number; refLogps?: readonly ArrayLike<number>[] } = {}): Promise<number[] | null> {
  const steps = opts.steps ?? 4;
  if (!(Number.isInteger(steps) && steps >= 2)) throw new Error(`measureStepGaps: steps=${steps} must be an integer ≥ 2 (a gap lies between two steps)`);
  if (!ctx.caps.timestamps) return null;
  if (ctx.timer) throw new Error('measureStepGaps: another profile is running on this device');
  const profiler = new TimestampProfiler(ctx);
  const ends: number[] = [];
  ctx.timer = profiler;
  try {
    // Each submission (a step's gradients, its update) is a piece of work: gaps between any two count.
    const submit = () => {
      const p = trainer.submitStep(batches, opts.refLogps);
      ends.push(profiler.count);
      return p;
    };
    const commit = (p: PendingStep) => {
      trainer.commitStep(p);
      ends.push(profiler.count);
    };
    let pending = submit();
    commit(pending);
    for (let i = 1; i < steps; i++) {
      const next = submit();
      await trainer.finishStep(pending);
      commit(next);
      pending = next;
    }
    await trainer.finishStep(pending);
  } finally {
    ctx.timer = null;
  }
  try {
    return stepGaps(await profiler.read(), ends);
  } finally {
    profiler.destroy();
  }
}

/** measureStepGaps' result in a line for the bench, against issue 16's target of ≤ 1 ms. */
export function formatStepGaps(gapsMs: readonly number[]): string {
  if (gapsMs.length === 0) return 'idle gap between steps: no usable timestamps';
  const sorted = [...gapsMs].sort((a, b) => a - b);
  return `GPU idle between the submissions of consecutive pipelined steps (timestamps, every dispatch timed, so an upper bound): median ${sorted[sorted.length >> 1].toFixed(3)} ms, max ${sorted[sorted.length - 1].toFixed(3)} ms over ${gapsMs.length} gaps (target ≤ 1 ms)`;
}

/** Rows, for the bench and the tests: one line per kernel with the columns of the GPU screen. */
export function formatProfile(p: StepProfile): string {
  const median = [...p.stepMs].sort((a, b) => a - b)[p.stepMs.length >> 1];
  const head = `step B=${p.B} T=${p.T}: ${p.dispatches} dispatches, whole step ${median.toFixed(1)} ms (median of ${p.stepMs.length})`;
  if (!p.kernels) return `${head}\n${p.note}`;
  const k = p.kernels;
  const cols = ['kernel', 'calls', 'total ms', 'share', 'GFLOP/s', 'GB/s'];
  const fmt = (x: number | null) => (x === null ? '—' : x.toFixed(2));
  const body = k.rows.map((r) => [r.kernel, String(r.calls), r.totalMs.toFixed(2), `${(100 * r.share).toFixed(1)}%`, fmt(r.gflops), fmt(r.gbps)]);
  const widths = cols.map((c, i) => Math.max(c.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const tail = `kernels ${k.kernelMs.toFixed(1)} ms of a ${k.spanMs.toFixed(1)} ms GPU span${k.dropped ? `; ${k.dropped} dispatches without usable timestamps left out` : ''}`;
  return [head, line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), tail].join('\n');
}

