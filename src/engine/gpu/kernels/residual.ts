import code from '../../../../shaders/residual_forward.wgsl?raw';
import { type Binding, type GpuContext, Params, type Recorder } from '../context';
import { ceilDiv, grid1d } from '../grid';

const WG = 256;

/** out = inp1 + inp2 over N f32 elements. */
export function residualForward(ctx: GpuContext, rec: Recorder, out: Binding, inp1: Binding, inp2: Binding, N: number): void {
  const pipeline = ctx.pipeline(code, { constants: { WG }, label: 'residual_forward' });
  rec.dispatch(pipeline, [out, inp1, inp2], new Params().u32(N), grid1d(ceilDiv(N, WG), ctx.caps.maxComputeWorkgroupsPerDimension), 'residual_forward');
}
