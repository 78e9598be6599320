// Reductions for the training step: the loss sum, and the global gradient norm with its clip
// factor and non-finite flag, computed on the GPU so the step reads back at most one small
// buffer, asynchronously.
import partialCode from '../../../../shaders/global_norm_partial.wgsl?raw';
import finalizeCode from '../../../../shaders/global_norm_finalize.wgsl?raw';
import sumCode from '../../../../shaders/reduce_sum.wgsl?raw';
import { type Binding, type GpuContext, type Live, type Recorder, bindingSpan, liveValue, packLive } from '../context';
import { ceilDiv } from '../grid';
import { defineParams } from '../params';
import { REDUCE_WG, withReduceLib } from './reduce-lib';

const SUM_PARAMS = defineParams(sumCode, [['N', 'u32'], ['outIndex', 'u32'], ['scale', 'f32'], ['accumulate', 'u32']]);
const PARTIAL_PARAMS = defineParams(partialCode, [['N', 'u32'], ['slot', 'u32']]);
const FINALIZE_PARAMS = defineParams(finalizeCode, [['count', 'u32'], ['maxNorm', 'f32'], ['lossIndex', 'u32'], ['hasLoss', 'u32']]);

/**
 * out[outIndex] = scale · Σ inp[0..N)  (f32; one workgroup, fixed order, deterministic).
 * With accumulate, adds to the previous out[outIndex] instead (gradient accumulation).
 * Typical use: the batch loss = reduceSum(lossOut, losses, BT, {scale: 1 / nTargets}).
 */
export function reduceSum(
  ctx: GpuContext,
  rec: Recorder,
  out: Binding,
  inp: Binding,
  N: number,
  opts: { outIndex?: number; scale?: Live; accumulate?: boolean } = {},
): void {
  const pipeline = ctx.pipeline(withReduceLib(ctx, sumCode), { constants: { WG: REDUCE_WG }, label: 'reduce_sum' });
  const scale = opts.scale ?? 1;
  const params = packLive((v) => SUM_PARAMS.pack({ N, outIndex: opts.outIndex ?? 0, scale: liveValue(scale, v), accumulate: opts.accumulate ? 1 : 0 }), scale);
  rec.dispatch(pipeline, [out, inp], params, [1], 'reduce_sum', { flops: N, bytes: N * 4 + 4 });
}

/** Indices into the 4-float stats buffer written by globalGradNorm. */
export const GRAD_STATS = { clip: 0, nonFinite: 1, norm: 2, sumSq: 3 } as const;
export const GRAD_STATS_BYTES = 16;

/** One flat gradient tensor (or a range of one) and its element count. */
export interface GradSpan {
  binding: Binding;
  n: number;
}

/** Pass-1 workgroups per gradient buffer: ~4 elements per invocation, at most 512 groups. */
function groupsFor(n: number): number {
  return Math.min(512, ceilDiv(n, REDUCE_WG * 4));
}

/** Number of u32 partials (the `partials` buffer holds 4× this many bytes) for these sizes. */
export function gradNormPartialCount(sizes: number[]): number {
  return sizes.reduce((s, n) => s + groupsFor(n), 0);
}

/**
 * Global L2 norm of all gradients, in two passes on the GPU, written with the clip factor and
 * the non-finite flag into stats [4] f32 = [clip, nonFinite, norm, sumSq]:
 *   norm = sqrt(Σ over every span of Σ g²); nonFinite = 1 when any gradient element (or
 *   loss[loss.index] when `loss` is given) is NaN/±Inf (a sum of squares overflowing f32
 *   counts too), else 0; clip = 0 when nonFinite, else min(1, maxNorm / (norm + 1e-6)) when
 *   maxNorm > 0, else 1.
 * adamwUpdate takes `stats` as its gradScale: it scales gradients by stats[0] and skips the
 * whole update when stats[1] ≠ 0. Read stats back (asynchronously) to log the norm and stop
 * on non-finite values.
 * `partials` is scratch of at least gradNormPartialCount(grads.map(g => g.n)) u32 elements.
 */
export function globalGradNorm(
  ctx: GpuContext,
  rec: Recorder,
  stats: Binding,
  partials: Binding,
  grads: GradSpan[],
  maxNorm: number,
  loss: { binding: Binding; index: number } | null = null,
): void {
  const need = gradNormPartialCount(grads.map((g) => g.n)) * 4;
  const have = bindingSpan(partials).size;
  if (have < need) throw new Error(`globalGradNorm: partials holds ${have} bytes, needs ${need} (gradNormPartialCount)`);
  const partial = ctx.pipeline(withReduceLib(ctx, partialCode), { constants: { WG: REDUCE_WG }, label: 'global_norm_partial' });
  let slot = 0;
  for (const g of grads) {
    const groups = groupsFor(g.n);
    if (groups === 0) continue;
    rec.dispatch(partial, [partials, g.binding], PARTIAL_PARAMS.pack({ N: g.n, slot }), [groups], 'global_norm_partial', { flops: 2 * g.n, bytes: g.n * 4 + groups * 4 });
    slot += groups;
  }
  const finalize = ctx.pipeline(withReduceLib(ctx, finalizeCode), { constants: { WG: REDUCE_WG }, label: 'global_norm_finalize' });
  // Without a loss, the (read-only) partials stand in for the loss binding, which every entry point must use.
  const params = FINALIZE_PARAMS.pack({ count: slot, maxNorm, lossIndex: loss?.index ?? 0, hasLoss: loss ? 1 : 0 });
  rec.dispatch(finalize, [stats, partials, loss?.binding ?? partials], params, [1], 'global_norm_finalize', { flops: slot, bytes: slot * 4 + 16 });
}

/** Reads the stats buffer back: the numbers a training step logs and checks. */
export async function readGradStats(ctx: GpuContext, stats: GPUBuffer, byteOffset = 0): Promise<{ clip: number; nonFinite: boolean; norm: number; sumSq: number }> {
  const s = new Float32Array(await ctx.read(stats, GRAD_STATS_BYTES, byteOffset));
  return { clip: s[0], nonFinite: s[1] !== 0, norm: s[2], sumSq: s[3] };
}
