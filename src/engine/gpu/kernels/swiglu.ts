// Gated MLP activation launchers: element-wise over [BT, F], out = act(gate) · up with
// act = silu (SwiGLU: Llama, Qwen) or gelu_tanh (GeGLU: Gemma). One kernel source per pass;
// the activation is a pipeline constant of lib/gated_act.wgsl.
import forwardCode from '../../../../shaders/swiglu_forward.wgsl?raw';
import backwardCode from '../../../../shaders/swiglu_backward.wgsl?raw';
import backwardInPlaceCode from '../../../../shaders/swiglu_backward_inplace.wgsl?raw';
import { type Binding, type GpuContext, type Recorder } from '../context';
import { ceilDiv, grid1d } from '../grid';
import { defineParams } from '../params';
import { type GatedActivation } from '../../reference/swiglu';
import { WGSL_LIB, composeShader } from './wgsl';

export type { GatedActivation } from '../../reference/swiglu';

const FORWARD_PARAMS = defineParams(forwardCode, [['N', 'u32']]);
const BACKWARD_PARAMS = defineParams(backwardCode, [['N', 'u32'], ['accumulate', 'u32']]);
const BACKWARD_IN_PLACE_PARAMS = defineParams(backwardInPlaceCode, [['N', 'u32']]);

const WG = 256;
const ACT: Record<GatedActivation, number> = { silu: 0, gelu_tanh: 1 };

function pipeline(ctx: GpuContext, code: string, activation: GatedActivation, label: string) {
  return ctx.pipeline(composeShader([WGSL_LIB.gatedAct], code), { constants: { WG, ACT: ACT[activation] }, label });
}

/** out[N] = act(gate[N]) · up[N], N = BT·F (act: silu unless `activation` says otherwise). out must not alias gate or up. */
export function swigluForward(
  ctx: GpuContext,
  rec: Recorder,
  out: Binding,
  gate: Binding,
  up: Binding,
  N: number,
  opts: { activation?: GatedActivation } = {},
): void {
  const label = 'swiglu_forward';
  // silu = x / (1 + exp(−x)) or gelu-tanh, times up
  rec.dispatch(pipeline(ctx, forwardCode, opts.activation ?? 'silu', label), [out, gate, up], FORWARD_PARAMS.pack({ N }), grid1d(ceilDiv(N, WG), ctx.caps.maxComputeWorkgroupsPerDimension), label, { flops: 6 * N, bytes: 3 * N * 4 });
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
  opts: { accumulate?: boolean; activation?: GatedActivation } = {},
): void {
  const label = 'swiglu_backward';
  const accumulate = opts.accumulate ?? true;
  const params = BACKWARD_PARAMS.pack({ N, accumulate: accumulate ? 1 : 0 });
  rec.dispatch(pipeline(ctx, backwardCode, opts.activation ?? 'silu', label), [dgate, dup, dout, gate, up], params, grid1d(ceilDiv(N, WG), ctx.caps.maxComputeWorkgroupsPerDimension), label, {
    flops: 12 * N,
    bytes: (3 + (accumulate ? 4 : 2)) * N * 4,
  });
}

/**
 * swigluBackward with `accumulate: false`, written over its inputs: gate[N] ← dgate, up[N] ←
 * dup (bit-identical values). Training uses it once gate and up are dead, so the MLP backward
 * needs no [BT, F] gradient buffers of its own. dout must be distinct from gate and up.
 */
export function swigluBackwardInPlace(ctx: GpuContext, rec: Recorder, gate: Binding, up: Binding, dout: Binding, N: number, opts: { activation?: GatedActivation } = {}): void {
  const label = 'swiglu_backward_inplace';
  rec.dispatch(pipeline(ctx, backwardInPlaceCode, opts.activation ?? 'silu', label), [gate, up, dout], BACKWARD_IN_PLACE_PARAMS.pack({ N }), grid1d(ceilDiv(N, WG), ctx.caps.maxComputeWorkgroupsPerDimension), label, {
    flops: 12 * N,
    bytes: 5 * N * 4,
  });
}
