// Launchers for a LoRA branch on a linear layer (PEFT shapes: A [R, C], B [OC, R]):
//   forward  y += scaling · (dropout(x) · Aᵀ) · Bᵀ, keeping h = dropout(x) · Aᵀ for backward
//            (the model runs loraDown, then the base matmul with y += s·h·Bᵀ as its epilogue);
//   backward dB += scaling · doutᵀ·h, dh = scaling · dout·B, dA += dhᵀ·dropout(x), dx += dropout'(dh·A).
// The products with long K or wide outputs reuse the tiled linear kernels (matmul.ts); the
// dA/dB reductions over the BT rows use lora_backward.wgsl. The dropout mask is a pure hash of
// (seed, element index of x), so the backward regenerates the forward's mask without storing it.
import weightGradCode from '../../../../shaders/lora_backward.wgsl?raw';
import { type Binding, type GpuContext, type Recorder, packLive } from '../context';
import { ceilDiv } from '../grid';
import { defineParams } from '../params';
import { type Dropout, MAX_GROUP_PARTS, groupDropoutParams, limitsOf, matmulBackward, matmulForward, matmulForwardGroup, spanBinding } from './matmul';
import { WGSL_LIB, composeShader } from './wgsl';

const GRAD_PARAMS = defineParams(weightGradCode, [
  ['M', 'u32'], ['N', 'u32'], ['K', 'u32'], ['gradOff', 'u32'],
  ['pOff', 'u32'], ['qOff', 'u32'], ['alpha', 'f32'], ['dropThreshold', 'u32'],
  ['dropScale', 'f32'], ['seedHash', 'u32'], ['gradOff1', 'u32'], ['gradOff2', 'u32'],
  ['pOff1', 'u32'], ['pOff2', 'u32'], ['seedHash1', 'u32'], ['seedHash2', 'u32'],
]);

export type { Dropout } from './matmul';

const NO_DROPOUT: Dropout = { p: 0, seed: 0 };

function checkLora(what: string, dims: Record<string, number>, R: number, scaling: number): void {
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what}: ${k}=${v} must be a positive integer`);
  }
  if (R > 256) throw new Error(`${what}: rank R=${R} is larger than supported (≤ 256)`);
  if (!Number.isFinite(scaling)) throw new Error(`${what}: scaling ${scaling} is not finite`);
}

/**
 * LoRA forward on top of a base linear output:
 *   h[BT, R]    = dropout(inp)[BT, C] · A[R, C]ᵀ        (overwritten; keep it for loraBackward)
 *   out[BT, OC] += scaling · h · B[OC, R]ᵀ
 * All f32 row-major. Dropout mask index = row·C + col of inp; p = 0 is the exact identity.
 * out must already hold the base layer's result (matmulForward).
 */
export function loraForward(
  ctx: GpuContext, rec: Recorder,
  out: Binding, h: Binding, // outputs
  inp: Binding, A: Binding, B: Binding, // inputs
  BT: number, C: number, OC: number, R: number, scaling: number, dropout: Dropout = NO_DROPOUT,
): void {
  checkLora('loraForward', { BT, C, OC, R }, R, scaling);
  loraDown(ctx, rec, h, inp, A, BT, C, R, dropout);
  matmulForward(ctx, rec, out, h, { buffer: B, dtype: 'f32' }, null, BT, R, OC, { accumulate: true, alpha: scaling, label: 'lora_forward_b' });
}

/**
 * The first half of loraForward, h[BT, R] = dropout(inp)[BT, C] · A[R, C]ᵀ, for a caller
 * that runs the second half as the base matmul's epilogue (matmulForward's loraUp option):
 * one dispatch fewer per adapted linear, bit-identical to loraForward after the base matmul.
 */
export function loraDown(
  ctx: GpuContext, rec: Recorder,
  h: Binding, inp: Binding, A: Binding,
  BT: number, C: number, R: number, dropout: Dropout = NO_DROPOUT,
): void {
  checkLora('loraDown', { BT, C, R }, R, 1);
  matmulForward(ctx, rec, h, inp, { buffer: A, dtype: 'f32' }, null, BT, C, R, { dropout, label: 'lora_forward_a' });
}

/** One module of a group that shares an input: its h (or dh) range, its A (or dA) range, its dropout. */
export interface LoraPart {
  h: Binding;
  A: Binding;
  dropout?: Dropout;
}

/**
 * loraDown for the modules that read the same inp (q/k/v, gate/up), each with its own A and
 * dropout mask: one dispatch when their h ranges share a buffer and their A ranges another
 * (matmulForwardGroup), bit-identical to a loraDown per module. The h ranges must not overlap.
 */
export function loraDownGroup(ctx: GpuContext, rec: Recorder, parts: readonly LoraPart[], inp: Binding, BT: number, C: number, R: number): void {
  checkLora('loraDownGroup', { BT, C, R }, R, 1);
  matmulForwardGroup(ctx, rec, parts.map((p) => ({ out: p.h, weight: p.A, dropout: p.dropout })), inp, BT, C, R, { label: 'lora_forward_a' });
}

/**
 * dA += dhᵀ · dropout(inp) for the modules of a group (`parts`: each one's dh range, dA range
 * and dropout), the last step of loraBackwardWeights: one dispatch when the dh ranges share a
 * buffer and the dA ranges another, else one per module; bit-identical either way.
 */
export function loraGradAGroup(ctx: GpuContext, rec: Recorder, parts: readonly LoraPart[], inp: Binding, BT: number, C: number, R: number): void {
  checkLora('loraGradAGroup', { BT, C, R, parts: parts.length }, R, 1);
  const lim = limitsOf(ctx);
  const dhs = spanBinding(parts.map((p) => p.h), lim);
  const dAs = spanBinding(parts.map((p) => p.A), lim);
  if (parts.length === 1 || parts.length > MAX_GROUP_PARTS || !dhs || !dAs) {
    for (const p of parts) loraWeightGrad(ctx, rec, p.A, p.h, inp, R, C, BT, 1, p.dropout ?? NO_DROPOUT);
    return;
  }
  loraWeightGrad(ctx, rec, dAs.binding, dhs.binding, inp, R, C, BT, 1, parts.map((p) => p.dropout ?? NO_DROPOUT), { grad: dAs.elemOffs, p: dhs.elemOffs });
}

/**
 * LoRA backward (the gradients of loraForward), accumulating like llm.c:
 *   dB[OC, R]   += scaling · dout[BT, OC]ᵀ · h[BT, R]
 *   dh[BT, R]    = scaling · dout · B                   (scratch, overwritten)
 *   dA[R, C]    += dhᵀ · dropout(inp)[BT, C]
 *   dinp[BT, C] += dropout'(dh · A)                     (add onto the base layer's dinp)
 * `h` is the forward's h; `dropout` must be the forward's (same p and seed).
 */
export function loraBackward(
  ctx: GpuContext, rec: Recorder,
  dinp: Binding, dA: Binding, dB: Binding, dh: Binding, // outputs (dh is scratch)
  dout: Binding, inp: Binding, h: Binding, A: Binding, B: Binding, // inputs
  BT: number, C: number, OC: number, R: number, scaling: number, dropout: Dropout = NO_DROPOUT,
): void {
  checkLora('loraBackward', { BT, C, OC, R }, R, scaling);
  loraBackwardWeights(ctx, rec, dA, dB, dh, dout, inp, h, B, BT, C, OC, R, scaling, dropout);
  matmulBackward(ctx, rec, dinp, dh, { buffer: A, dtype: 'f32' }, BT, C, R, { accumulate: true, dropout, label: 'lora_backward_dx' });
}

/**
 * loraBackward without its last step (dinp += dropout'(dh·A)), for a caller that runs that
 * step as the base matmulBackward's epilogue (its loraDx option, with this dh): one dispatch
 * fewer per adapted linear, bit-identical to the base backward then loraBackward. dA null:
 * the caller runs dA later (loraGradAGroup, with the other modules of its input group).
 */
export function loraBackwardWeights(
  ctx: GpuContext, rec: Recorder,
  dA: Binding | null, dB: Binding, dh: Binding, // outputs (dh is scratch, read by the dinp step)
  dout: Binding, inp: Binding, h: Binding, B: Binding, // inputs
  BT: number, C: number, OC: number, R: number, scaling: number, dropout: Dropout = NO_DROPOUT,
): void {
  checkLora('loraBackwardWeights', { BT, C, OC, R }, R, scaling);
  loraWeightGrad(ctx, rec, dB, dout, h, OC, R, BT, scaling, NO_DROPOUT);
  matmulBackward(ctx, rec, dh, dout, { buffer: B, dtype: 'f32' }, BT, R, OC, { accumulate: false, alpha: scaling, label: 'lora_backward_dh' });
  if (dA) loraWeightGrad(ctx, rec, dA, dh, inp, R, C, BT, 1, dropout);
}

interface GradTiles {
  WG_M: number;
  WG_N: number;
  KS: number;
  BK: number;
}
const TM = 8; // must match const TM/TN in shaders/lib/gemm.wgsl
const TN = 8;

/**
 * The narrow (rank) side gets just enough threads to cover R, the wide side 4 threads (32
 * outputs), and the rest of 128 threads become k-slices. Workgroup memory stays within 16 KiB.
 */
function pickGradTiles(ctx: GpuContext, M: number, N: number): GradTiles {
  const narrow = (n: number) => Math.min(8, 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(n / TN)))));
  const WG_M = N <= M ? 4 : narrow(M);
  const WG_N = N <= M ? narrow(N) : 4;
  const threads = Math.min(128, ctx.caps.maxComputeInvocationsPerWorkgroup);
  const KS = Math.max(1, Math.min(16, Math.floor(threads / (WG_M * WG_N))));
  const BM = WG_M * TM;
  const BN = WG_N * TN;
  // P and Q tiles (BK rows each) plus the BM×BN reduction block.
  let BK = 32;
  while (BK > 4 && (BK * (BM + BN) + BM * BN) * 4 > 16384) BK /= 2;
  return { WG_M, WG_N, KS, BK };
}

/**
 * grad[M, N] += alpha · P[K, M]ᵀ · dropout(Q)[K, N], all f32 row-major, bound whole; with
 * several dropouts and `offs` (a group sharing Q, workgroup z = part), part i's grad and P
 * start at element offs.grad[i] / offs.p[i] of their bindings.
 */
function loraWeightGrad(ctx: GpuContext, rec: Recorder, grad: Binding, P: Binding, Q: Binding, M: number, N: number, K: number, alpha: number, dropout: Dropout | readonly Dropout[], offs?: { grad: number[]; p: number[] }): void {
  const limit = ctx.caps.maxStorageBufferBindingSize;
  for (const [name, n] of [['P', K * M], ['Q', K * N], ['grad', M * N]] as const) {
    if (n * 4 > limit) throw new Error(`loraBackward: ${name} of ${n * 4} bytes exceeds the ${limit}-byte storage binding limit; split the batch`);
  }
  const drops = Array.isArray(dropout) ? dropout : [dropout as Dropout];
  const t = pickGradTiles(ctx, M, N);
  const code = composeShader([WGSL_LIB.hash, WGSL_LIB.gemm], weightGradCode);
  const pipeline = ctx.pipeline(code, { constants: { ...t }, label: 'lora_backward' });
  const at = (xs: number[] | undefined, i: number) => xs?.[i] ?? 0;
  const params = packLive(
    (v) =>
      GRAD_PARAMS.pack({
        M, N, K, gradOff: at(offs?.grad, 0), pOff: at(offs?.p, 0), qOff: 0, alpha, ...groupDropoutParams(drops, v, 'loraBackward'),
        gradOff1: at(offs?.grad, 1), gradOff2: at(offs?.grad, 2), pOff1: at(offs?.p, 1), pOff2: at(offs?.p, 2),
      }),
    ...drops.map((x) => x.seed),
  );
  // Per part: grad[M, N] += Pᵀ·Q over K rows, 2·M·N·K FLOPs; P read, grad read and written; Q read once for all.
  const G = drops.length;
  rec.dispatch(pipeline, [grad, P, Q], params, [ceilDiv(N, t.WG_N * TN), ceilDiv(M, t.WG_M * TM), G], 'lora_backward', { flops: 2 * M * N * K * G, bytes: 4 * (K * N + G * (K * M + 2 * M * N)) });
}
