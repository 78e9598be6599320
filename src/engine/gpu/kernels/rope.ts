// RoPE launchers (Hugging Face rotate_half layout) and the CPU-side inverse frequencies.
import code from '../../../../shaders/rope_forward.wgsl?raw';
import { type Binding, type GpuContext, type KernelCost, type Recorder, bindingSpan } from '../context';
import { ceilDiv, grid1d } from '../grid';
import { defineParams } from '../params';
import { type Llama3RopeScaling, llama3ScaledInvFreq } from '../../model/config';

const PARAMS = defineParams(code, [['BT', 'u32'], ['NH', 'u32'], ['D', 'u32'], ['transpose', 'u32'], ['NK', 'u32']]);

const WG = 256;

/** Llama 3 frequency-dependent scaling (ModelConfig's Llama3RopeScaling; the type tag is not needed here). */
export type RopeScaling = Omit<Llama3RopeScaling, 'ropeType'>;

const f = Math.fround;

/**
 * inv_freq[D/2] as Hugging Face computes it in float32 (each operation rounded to f32 so
 * the angles match transformers'): 1 / theta^(2i/D), divided by a linear factor (Gemma's
 * global layers), then the llama3 rope_scaling adjustment (llama3ScaledInvFreq) when
 * `scaling` is given.
 */
export function ropeInvFreq(D: number, theta: number, scaling: RopeScaling | null = null, linearFactor = 1): Float32Array {
  if (D % 2 !== 0) throw new Error(`ropeInvFreq: head dim ${D} must be even`);
  if (scaling && linearFactor !== 1) throw new Error('ropeInvFreq: llama3 scaling and a linear factor do not combine');
  const inv = new Float32Array(D / 2);
  for (let i = 0; i < D / 2; i++) inv[i] = f(f(1 / f(Math.pow(theta, f((2 * i) / D)))) / linearFactor);
  if (!scaling) return inv;
  const s: Llama3RopeScaling = { ropeType: 'llama3', ...scaling };
  return inv.map((x) => llama3ScaledInvFreq(x, s, f));
}

/** A storage buffer holding ropeInvFreq(D, theta, scaling, linearFactor), for ropeForward/ropeBackward. */
export function createRopeInvFreqBuffer(ctx: GpuContext, D: number, theta: number, scaling: RopeScaling | null = null, linearFactor = 1): GPUBuffer {
  return ctx.upload(ropeInvFreq(D, theta, scaling, linearFactor), 'rope_inv_freq');
}

function sameBinding(a: Binding, b: Binding): boolean {
  const [sa, sb] = [bindingSpan(a), bindingSpan(b)];
  return sa.buffer === sb.buffer && sa.offset === sb.offset;
}

function copyBinding(rec: Recorder, src: Binding, dst: Binding, bytes: number): void {
  const [s, d] = [bindingSpan(src), bindingSpan(dst)];
  rec.copy(s.buffer, s.offset, d.buffer, d.offset, bytes);
}

function rope(ctx: GpuContext, rec: Recorder, out: Binding, inp: Binding, invFreq: Binding, pos: Binding, BT: number, NH: number, D: number, transpose: boolean): void {
  if (D % 2 !== 0) throw new Error(`rope: head dim ${D} must be even`);
  if (!sameBinding(out, inp)) copyBinding(rec, inp, out, BT * NH * D * 4);
  const pipeline = ctx.pipeline(code, { constants: { WG }, label: 'rope' });
  const params = PARAMS.pack({ BT, NH, D, transpose: transpose ? 1 : 0, NK: 0 });
  const label = transpose ? 'rope_backward' : 'rope_forward';
  rec.dispatch(pipeline, [out, invFreq, pos], params, grid1d(ceilDiv((BT * NH * D) / 2, WG), ctx.caps.maxComputeWorkgroupsPerDimension), label, ropeCost(BT, NH, D));
}

function ropeCost(BT: number, NH: number, D: number): KernelCost {
  return {
    flops: 3 * BT * NH * D, // a 2×2 rotation per pair: 4 multiplies, 2 adds
    bytes: 2 * BT * NH * D * 4 + BT * 4 + (D / 2) * 4,
  };
}

/**
 * q [BT, H, D] and k [BT, KVH, D] rotated in place in one dispatch: bit-identical to
 * ropeForward (ropeBackward with `transpose`) of q, then of k. q and k must not overlap.
 */
export function ropeQk(ctx: GpuContext, rec: Recorder, q: Binding, k: Binding, invFreq: Binding, pos: Binding, BT: number, H: number, KVH: number, D: number, transpose: boolean): void {
  if (D % 2 !== 0) throw new Error(`rope: head dim ${D} must be even`);
  const pipeline = ctx.pipeline(code, { constants: { WG }, label: 'rope_qk', entryPoint: 'main_qk' });
  const params = PARAMS.pack({ BT, NH: H, D, transpose: transpose ? 1 : 0, NK: KVH });
  const q1 = ropeCost(BT, H, D);
  const k1 = ropeCost(BT, KVH, D);
  const label = transpose ? 'rope_qk_backward' : 'rope_qk_forward';
  rec.dispatch(pipeline, [q, invFreq, pos, k], params, grid1d(ceilDiv((BT * (H + KVH) * D) / 2, WG), ctx.caps.maxComputeWorkgroupsPerDimension), label, {
    flops: q1.flops + k1.flops,
    bytes: q1.bytes + k1.bytes - BT * 4 - (D / 2) * 4, // positions and frequencies read once
  });
}

/**
 * Rotates x [BT, NH, D] (q with NH = H, or k with NH = KVH) by the angles pos[bt]·invFreq[i]
 * (pos: u32 [BT], invFreq: f32 [D/2] from ropeInvFreq), HF rotate_half layout: element i pairs
 * with i + D/2. out = inp rotates in place; a different out gets a copy of inp first, then is
 * rotated (inp is left unchanged).
 */
export function ropeForward(ctx: GpuContext, rec: Recorder, out: Binding, inp: Binding, invFreq: Binding, pos: Binding, BT: number, NH: number, D: number): void {
  rope(ctx, rec, out, inp, invFreq, pos, BT, NH, D, false);
}

/**
 * dinp [BT, NH, D] = the transposed rotation of dout (overwrites dinp, no accumulation: the
 * pre-RoPE q/k gradient has no other contributor). dinp = dout works in place.
 */
export function ropeBackward(ctx: GpuContext, rec: Recorder, dinp: Binding, dout: Binding, invFreq: Binding, pos: Binding, BT: number, NH: number, D: number): void {
  rope(ctx, rec, dinp, dout, invFreq, pos, BT, NH, D, true);
}
