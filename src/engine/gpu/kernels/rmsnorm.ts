// RMSNorm launchers (one workgroup per row, block reduction from reduce-lib).
import forwardCode from '../../../../shaders/rmsnorm_forward.wgsl?raw';
import backwardCode from '../../../../shaders/rmsnorm_backward.wgsl?raw';
import { type Binding, type GpuContext, Params, type Recorder } from '../context';
import { grid1d } from '../grid';
import { REDUCE_WG, withReduceLib } from './reduce-lib';

/**
 * out[BT, C] = inp · rstd · weight[C] per row, rstd[BT] = 1/sqrt(mean(inp²) + eps) (written,
 * kept for the backward). out must not alias inp. All f32.
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
): void {
  const pipeline = ctx.pipeline(withReduceLib(ctx, forwardCode), { constants: { WG: REDUCE_WG }, label: 'rmsnorm_forward' });
  const params = new Params().u32(BT).u32(C).f32(eps);
  rec.dispatch(pipeline, [out, rstd, inp, weight], params, grid1d(BT, ctx.caps.maxComputeWorkgroupsPerDimension), 'rmsnorm_forward');
}

/**
 * dinp[BT, C] += ∂L/∂inp from dout[BT, C] (accumulates, llm.c style; weight is frozen so no
 * dweight). inp, weight and rstd are the forward's. dinp must not alias dout or inp.
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
): void {
  const pipeline = ctx.pipeline(withReduceLib(ctx, backwardCode), { constants: { WG: REDUCE_WG }, label: 'rmsnorm_backward' });
  const params = new Params().u32(BT).u32(C);
  rec.dispatch(pipeline, [dinp, dout, inp, weight, rstd], params, grid1d(BT, ctx.caps.maxComputeWorkgroupsPerDimension), 'rmsnorm_backward');
}
