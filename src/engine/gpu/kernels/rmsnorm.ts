// RMSNorm launchers (one workgroup per row, block reduction from reduce-lib).
import forwardCode from '../../../../shaders/rmsnorm_forward.wgsl?raw';
import backwardCode from '../../../../shaders/rmsnorm_backward.wgsl?raw';
import { type Binding, type GpuContext, type Recorder } from '../context';
import { grid1d } from '../grid';
import { defineParams } from '../params';
import { REDUCE_WG, withReduceLib } from './reduce-lib';

const FORWARD_PARAMS = defineParams(forwardCode, [['BT', 'u32'], ['C', 'u32'], ['eps', 'f32']]);
const BACKWARD_PARAMS = defineParams(backwardCode, [['BT', 'u32'], ['C', 'u32']]);

/** What every RMSNorm launcher takes besides its buffers. */
export interface RmsnormOptions {
  /** Added to every weight (a pipeline constant): 0 (default) or Gemma's 1, which scales by 1 + w. */
  offset?: number;
}

function pipeline(ctx: GpuContext, code: string, opts: RmsnormOptions, label: string, entryPoint = 'main'): GPUComputePipeline {
  return ctx.pipeline(withReduceLib(ctx, code), { constants: { WG: REDUCE_WG, W_OFFSET: opts.offset ?? 0 }, label, entryPoint });
}

/** The residual add fused into a norm (rmsnormForward's `residual`). */
export interface ResidualInput {
  /** Written: inp + add, the residual stream; must alias none of inp, add, out. */
  sum: Binding;
  /** Read: added to inp. */
  add: Binding;
}

/**
 * out[BT, C] = inp · rstd · (offset + weight[C]) per row, rstd[BT] = 1/sqrt(mean(inp²) + eps)
 * (written, kept for the backward). out must not alias inp. All f32.
 * With `residual`, the residual add before the norm in the same dispatch: residual.sum =
 * inp + residual.add is written and normed — bit-identical to residualForward, then this.
 */
export function rmsnormForward(
  ctx: GpuContext,
  rec: Recorder,
  out: Binding,
  rstd: Binding,
  inp: Binding,
  weight: Binding,
  BT: number,
  C: number,
  eps: number,
  opts: RmsnormOptions & { residual?: ResidualInput } = {},
): void {
  const params = FORWARD_PARAMS.pack({ BT, C, eps });
  const grid = grid1d(BT, ctx.caps.maxComputeWorkgroupsPerDimension);
  const r = opts.residual;
  if (!r) {
    rec.dispatch(pipeline(ctx, forwardCode, opts, 'rmsnorm_forward'), [out, rstd, inp, weight], params, grid, 'rmsnorm_forward', {
      flops: 4 * BT * C, // square, sum, scale, weight
      bytes: 4 * (2 * BT * C + C + BT),
    });
    return;
  }
  const label = 'residual_rmsnorm_forward';
  rec.dispatch(pipeline(ctx, forwardCode, opts, label, 'main_residual'), [out, rstd, inp, weight, r.add, r.sum], params, grid, label, {
    flops: 5 * BT * C, // add, square, sum, scale, weight
    bytes: 4 * (5 * BT * C + C + BT), // inp, add and sum read; sum and out written
  });
}

/**
 * dinp[BT, C] += ∂L/∂inp from dout[BT, C] (accumulates, llm.c style; weight is frozen so no
 * dweight). inp, weight, rstd and the offset are the forward's. dinp must not alias dout or inp.
 */
export function rmsnormBackward(
  ctx: GpuContext,
  rec: Recorder,
  dinp: Binding,
  dout: Binding,
  inp: Binding,
  weight: Binding,
  rstd: Binding,
  BT: number,
  C: number,
  opts: RmsnormOptions = {},
): void {
  const params = BACKWARD_PARAMS.pack({ BT, C });
  rec.dispatch(pipeline(ctx, backwardCode, opts, 'rmsnorm_backward'), [dinp, dout, inp, weight, rstd], params, grid1d(BT, ctx.caps.maxComputeWorkgroupsPerDimension), 'rmsnorm_backward', {
    flops: 8 * BT * C,
    bytes: 4 * (4 * BT * C + C + BT), // dout, inp, dinp read + written
  });
}
