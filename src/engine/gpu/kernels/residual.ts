import code from '../../../../shaders/residual_forward.wgsl?raw';
import backwardCode from '../../../../shaders/residual_backward.wgsl?raw';
import accumulateCode from '../../../../shaders/scale_accumulate.wgsl?raw';
import { type Binding, type GpuContext, type Recorder } from '../context';
import { ceilDiv, grid1d } from '../grid';
import { defineParams } from '../params';

const N_PARAMS = defineParams([code, backwardCode], [['N', 'u32']]);
const ACCUMULATE_PARAMS = defineParams(accumulateCode, [['N', 'u32'], ['alpha', 'f32']]);

const WG = 256;

/** out = inp1 + inp2 over N f32 elements. */
export function residualForward(ctx: GpuContext, rec: Recorder, out: Binding, inp1: Binding, inp2: Binding, N: number): void {
  const pipeline = ctx.pipeline(code, { constants: { WG }, label: 'residual_forward' });
  rec.dispatch(pipeline, [out, inp1, inp2], N_PARAMS.pack({ N }), grid1d(ceilDiv(N, WG), ctx.caps.maxComputeWorkgroupsPerDimension), 'residual_forward', { flops: N, bytes: 3 * N * 4 });
}

// Added by the element-wise kernels engineer (K2): the residual's backward and a generic accumulate.

/** dinp1 += dout and dinp2 += dout over N f32 elements (dinp1, dinp2, dout distinct). */
export function residualBackward(ctx: GpuContext, rec: Recorder, dinp1: Binding, dinp2: Binding, dout: Binding, N: number): void {
  const pipeline = ctx.pipeline(backwardCode, { constants: { WG }, label: 'residual_backward' });
  rec.dispatch(pipeline, [dinp1, dinp2, dout], N_PARAMS.pack({ N }), grid1d(ceilDiv(N, WG), ctx.caps.maxComputeWorkgroupsPerDimension), 'residual_backward', { flops: 2 * N, bytes: 5 * N * 4 });
}

/** dst += alpha · src over N f32 elements, in place (dst and src distinct). */
export function addInPlace(ctx: GpuContext, rec: Recorder, dst: Binding, src: Binding, N: number, alpha = 1): void {
  const pipeline = ctx.pipeline(accumulateCode, { constants: { WG }, label: 'scale_accumulate' });
  rec.dispatch(pipeline, [dst, src], ACCUMULATE_PARAMS.pack({ N, alpha }), grid1d(ceilDiv(N, WG), ctx.caps.maxComputeWorkgroupsPerDimension), 'scale_accumulate', { flops: 2 * N, bytes: 3 * N * 4 });
}
