// Fused softmax cross-entropy launcher over a chunk of logit rows (the LM head is computed in
// row chunks so a [B·T, V] logits matrix never exists).
import code from '../../../../shaders/crossentropy_forward.wgsl?raw';
import uniformScaleLib from '../../../../shaders/lib/loss_scale_uniform.wgsl?raw';
import rowScaleLib from '../../../../shaders/lib/loss_scale_rows.wgsl?raw';
import { type Binding, type GpuContext, type Live, type Recorder, liveValue, packLive } from '../context';
import { grid1d } from '../grid';
import { defineParams } from '../params';
import { REDUCE_WG, withReduceLib } from './reduce-lib';
import { composeShader } from './wgsl';

const PARAMS = defineParams(code, [['rows', 'u32'], ['V', 'u32'], ['rowOffset', 'u32'], ['lossScale', 'f32'], ['writeGrad', 'u32'], ['rowsPerWeight', 'u32']]);

export const IGNORE_INDEX = -100;

/**
 * For each chunk row r < rows (global row g = rowOffset + r, target t = targets[g], i32):
 *   losses[g] = logsumexp(logits[r, :]) − logits[r, t]   (f32, 0 for ignored rows), and unless
 *   opts.writeGrad is false, logits[r, :] is overwritten in place with
 *   dlogits = (softmax(logits[r, :]) − onehot(t)) · lossScale   (0 for ignored rows).
 * Ignored: t = −100 (any t outside [0, V) is treated the same). lossScale = 1 / (number of
 * non-ignored targets in the whole batch), so Σ dlogits over chunks is ∂(mean loss)/∂logits.
 * targets and losses cover the whole batch [BT]; logits is the [rows, V] chunk.
 * With opts.rowWeights (a [BT / rowsPerWeight] f32 buffer), row g's gradient scale is
 * lossScale · rowWeights[floor(g / rowsPerWeight)]: one weight per sequence (preference objectives).
 * Sum the per-row losses with reduceSum (norm.ts) to read one number back.
 */
export function crossentropyForward(
  ctx: GpuContext,
  rec: Recorder,
  losses: Binding,
  logits: Binding,
  targets: Binding,
  rows: number,
  V: number,
  rowOffset: number,
  lossScale: Live,
  opts: { writeGrad?: boolean; rowWeights?: { binding: Binding; rowsPerWeight: number } } = {},
): void {
  const w = opts.rowWeights;
  const source = withReduceLib(ctx, composeShader([w ? rowScaleLib : uniformScaleLib], code));
  const pipeline = ctx.pipeline(source, { constants: { WG: REDUCE_WG }, label: w ? 'crossentropy_forward (row weights)' : 'crossentropy_forward' });
  const params = packLive((v) => PARAMS.pack({ rows, V, rowOffset, lossScale: liveValue(lossScale, v), writeGrad: (opts.writeGrad ?? true) ? 1 : 0, rowsPerWeight: w?.rowsPerWeight ?? 1 }), lossScale);
  rec.dispatch(pipeline, w ? [losses, logits, targets, w.binding] : [losses, logits, targets], params, grid1d(rows, ctx.caps.maxComputeWorkgroupsPerDimension), 'crossentropy_forward', {
    flops: 5 * rows * V, // max, exp, sum; then the gradient softmax − onehot, scaled
    bytes: rows * V * 4 * ((opts.writeGrad ?? true) ? 2 : 1) + rows * 8 + (w ? Math.ceil(rows / w.rowsPerWeight) * 4 : 0),
  });
}
