// Float-format casts on the GPU: 16-bit weights (BF16/F16 safetensors) widened to f32 after a
// raw upload, and f32 narrowed to packed f16 for the f16-weight fast paths.
import toF32Code from '../../../../shaders/cast_to_f32.wgsl?raw';
import toF16Code from '../../../../shaders/cast_f32_to_f16.wgsl?raw';
import { type Binding, type GpuContext, type Recorder } from '../context';
import { ceilDiv, grid1d } from '../grid';
import { defineParams } from '../params';

const PARAMS = defineParams([toF32Code, toF16Code], [['N', 'u32']]);

const WG = 256;

/**
 * out[N] (f32) = inp[N] widened from 'bf16' or 'f16' (raw little-endian 16-bit values, two per
 * u32 word, as a safetensors tensor's bytes; upload an odd count padded to 4 bytes). Exact.
 */
export function castToF32(ctx: GpuContext, rec: Recorder, out: Binding, inp: Binding, N: number, from: 'bf16' | 'f16'): void {
  const entryPoint = from === 'bf16' ? 'bf16_to_f32' : 'f16_to_f32';
  const pipeline = ctx.pipeline(toF32Code, { entryPoint, constants: { WG }, label: `cast_${from}_to_f32` });
  rec.dispatch(pipeline, [out, inp], PARAMS.pack({ N }), grid1d(ceilDiv(ceilDiv(N, 2), WG), ctx.caps.maxComputeWorkgroupsPerDimension), `cast_${from}_to_f32`, { flops: 0, bytes: N * (2 + 4) });
}

/**
 * out = inp[N] (f32) narrowed to f16, packed two per u32 (ceil(N/2) words; with odd N the
 * last word's high half is 0). Rounds to one of the two nearest halves (WGSL's rule);
 * values beyond ±65504 are undefined.
 */
export function castF32ToF16(ctx: GpuContext, rec: Recorder, out: Binding, inp: Binding, N: number): void {
  const pipeline = ctx.pipeline(toF16Code, { constants: { WG }, label: 'cast_f32_to_f16' });
  rec.dispatch(pipeline, [out, inp], PARAMS.pack({ N }), grid1d(ceilDiv(ceilDiv(N, 2), WG), ctx.caps.maxComputeWorkgroupsPerDimension), 'cast_f32_to_f16', { flops: 0, bytes: N * (4 + 2) });
}
