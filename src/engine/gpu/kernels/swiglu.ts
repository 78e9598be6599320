// SwiGLU activation launchers: element-wise over [BT, F].
import forwardCode from '../../../../shaders/swiglu_forward.wgsl?raw';
import backwardCode from '../../../../shaders/swiglu_backward.wgsl?raw';
import { type Binding, type GpuContext, type Recorder } from '../context';
import { ceilDiv, grid1d } from '../grid';
import { defineParams } from '../params';

const FORWARD_PARAMS = defineParams(forwardCode, [['N', 'u32']]);
const BACKWARD_PARAMS = defineParams(backwardCode, [['N', 'u32'], ['accumulate', 'u32']]);

const WG = 256;

/** out[N] = silu(gate[N]) · up[N], N = BT·F. out must not alias gate or up. */
export function swigluForward(ctx: GpuContext, rec: Recorder, out: Binding, gate: Binding, up: Binding, N: number): void {
  const pipeline = ctx.pipeline(forwardCode, { constants: { WG }, label: 'swiglu_forward' });
  rec.dispatch(pipeline, [out, gate, up], FORWARD_PARAMS.pack({ N }), grid1d(ceilDiv(N, WG), ctx.caps.maxComputeWorkgroupsPerDimension), 'swiglu_forward', { flops: 6 * N, bytes: 3 * N * 4 }); // silu = x / (1 + exp(−x)), times up
}

/**
 * dgate[N], dup[N] from dout[N] and the forward's gate, up. With `accumulate` (the default,
 * llm.c style) adds into dgate/dup; with `accumulate: false` overwrites them (no clear needed).
 * dgate and dup must be distinct from each other and from the inputs.
 */
export function swigluBackward(
  ctx: GpuContext,
  rec: Recorder,
  dgate: Binding,
  dup: Binding,
  dout: Binding,
  gate: Binding,
  up: Binding,
  N: number,
  opts: { accumulate?: boolean } = {},
): void {
  const pipeline = ctx.pipeline(backwardCode, { constants: { WG }, label: 'swiglu_backward' });
  const accumulate = opts.accumulate ?? true;
  const params = BACKWARD_PARAMS.pack({ N, accumulate: accumulate ? 1 : 0 });
  rec.dispatch(pipeline, [dgate, dup, dout, gate, up], params, grid1d(ceilDiv(N, WG), ctx.caps.maxComputeWorkgroupsPerDimension), 'swiglu_backward', {
    flops: 12 * N,
    bytes: (3 + (accumulate ? 4 : 2)) * N * 4,
  });
}
