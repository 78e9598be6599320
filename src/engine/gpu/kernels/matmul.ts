// Launchers for the frozen-weight linear layer: matmulForward (out = inp·Wᵀ + bias) and
// matmulBackward (dinp (+)= dout·W, no dW). Tensors larger than one storage binding
// (the 49152×576 LM head, Qwen's ~540 MB embedding) are processed as several dispatches
// over row ranges of W and row chunks of the activations, each bound as a byte range.
// Each kernel is composed with the reader of the weight's format, lib/hash.wgsl (dropout),
// lib/gemm.wgsl (the tiled GEMM core) and lib/gemm_store.wgsl (its epilogue).
import forwardCode from '../../../../shaders/matmul_forward.wgsl?raw';
import backwardCode from '../../../../shaders/matmul_backward.wgsl?raw';
import { type Binding, type BufferSpan, type GpuContext, type KernelCost, type Live, type Recorder, type StepValues, bindingSpan, liveValue, packLive } from '../context';
import { ceilDiv } from '../grid';
import { defineParams } from '../params';
import { type WeightDType, type WeightFormat, weightFormat, weightRowBytes } from './weights';
import { WGSL_LIB, composeShader } from './wgsl';

export type { WeightDType } from './weights';

const FORWARD_PARAMS = defineParams(forwardCode, [
  ['M', 'u32'], ['N', 'u32'], ['K', 'u32'], ['ldo', 'u32'],
  ['outOff', 'u32'], ['inpOff', 'u32'], ['wOff', 'u32'], ['biasOff', 'u32'],
  ['hasBias', 'u32'], ['accumulate', 'u32'], ['alpha', 'f32'], ['dropThreshold', 'u32'],
  ['dropScale', 'f32'], ['seedHash', 'u32'], ['dropRow0', 'u32'], ['_pad', 'u32'],
  ['R', 'u32'], ['hOff', 'u32'], ['bOff', 'u32'], ['loraAlpha', 'f32'],
  ['outOff1', 'u32'], ['outOff2', 'u32'], ['wOff1', 'u32'], ['wOff2', 'u32'],
  ['seedHash1', 'u32'], ['seedHash2', 'u32'], ['_pad1', 'u32'], ['_pad2', 'u32'],
]);

const BACKWARD_PARAMS = defineParams(backwardCode, [
  ['M', 'u32'], ['N', 'u32'], ['K', 'u32'], ['ldd', 'u32'],
  ['dinpOff', 'u32'], ['doutOff', 'u32'], ['wOff', 'u32'], ['accumulate', 'u32'],
  ['alpha', 'f32'], ['dropThreshold', 'u32'], ['dropScale', 'f32'], ['seedHash', 'u32'],
  ['dropRow0', 'u32'], ['_p0', 'u32'], ['_p1', 'u32'], ['_p2', 'u32'],
  ['R', 'u32'], ['dhOff', 'u32'], ['aOff', 'u32'], ['loraAlpha', 'f32'],
  ['loraDropThreshold', 'u32'], ['loraDropScale', 'f32'], ['loraSeedHash', 'u32'], ['_p3', 'u32'],
]);

/** `kernel` composed with a weight reader (lib/weights_*.wgsl) and the libraries both matmul kernels use. */
const withWeights = (kernel: string, f: WeightFormat) => composeShader([...f.readers, WGSL_LIB.hash, WGSL_LIB.gemm, WGSL_LIB.gemmStore], kernel);

/**
 * A frozen weight: row-major [OC, C] (Hugging Face layout) in f32, f16 (needs ctx.caps.f16)
 * or a GGUF block format laid out by packWeightBlocks (C a multiple of the block's values).
 */
export interface Weight {
  buffer: Binding;
  dtype: WeightDType;
}

/** Input dropout with a stateless mask: element i is kept iff hash(i ^ hash(seed)) >= p·2³². */
export interface Dropout {
  /** Drop probability in [0, 1); 0 is the exact identity. */
  p: number;
  /** Any u32; forward and backward must use the same seed to get the same mask. A step value in a replayed step. */
  seed: Live;
}

export interface MatmulForwardOptions {
  /** out += result instead of out = result. */
  accumulate?: boolean;
  /** Scales inp·Wᵀ (not the bias). Default 1. */
  alpha?: number;
  /** Dropout applied to inp (LoRA's input dropout); mask index = row·C + col of inp. */
  dropout?: Dropout;
  /** Pretend storage bindings are at most this many bytes (tests of the range-split path). */
  maxBindingBytes?: number;
  /** The kernel's name in a profile (default matmul_forward; LoRA names its products). */
  label?: string;
  /**
   * LoRA's up-projection as this product's epilogue: out += alpha · h[BT, R] · B[OC, R]ᵀ, added
   * to the stored value exactly as a separate accumulating matmulForward(out, h, B) would
   * (bit-identical), in the same dispatch.
   */
  loraUp?: LoraUp;
}

/** The second product of matmulForward's LoRA epilogue (MatmulForwardOptions.loraUp). */
export interface LoraUp {
  /** f32 [BT, R] row-major. */
  h: Binding;
  /** f32 [OC, R] row-major. */
  B: Binding;
  R: number;
  alpha: number;
}

export interface MatmulBackwardOptions {
  /** dinp += result instead of dinp = result. */
  accumulate: boolean;
  /** Scales dout·W. Default 1. */
  alpha?: number;
  /** The backward of an input dropout: multiply by the forward's mask (index row·C + col) and 1/(1-p). */
  dropout?: Dropout;
  maxBindingBytes?: number;
  /** The kernel's name in a profile (default matmul_backward). */
  label?: string;
  /**
   * LoRA's input gradient as this product's epilogue: dinp += dropout'(alpha · dh[BT, R] ·
   * A[R, C]), added to the stored value exactly as a separate accumulating
   * matmulBackward(dinp, dh, A, { dropout }) would (bit-identical), in the same dispatch.
   */
  loraDx?: LoraDx;
}

/** The second product of matmulBackward's LoRA epilogue (MatmulBackwardOptions.loraDx). */
export interface LoraDx {
  /** f32 [BT, R] row-major. */
  dh: Binding;
  /** f32 [R, C] row-major. */
  A: Binding;
  R: number;
  alpha: number;
  /** The LoRA module's input dropout (the forward's p and seed). */
  dropout?: Dropout;
}

/**
 * The profile's cost of one dispatch of either kernel, a product y[M, N] (+)= x[M, K] · w
 * with w of N·K elements of `wBytes`: 2·M·N·K FLOPs, each tensor moved once (y read too when
 * accumulating).
 */
export function matmulCost(M: number, N: number, K: number, wBytes: number, accumulate: boolean, biasN = 0): KernelCost {
  return { flops: 2 * M * N * K, bytes: 4 * M * K + wBytes * N * K + 4 * M * N * (accumulate ? 2 : 1) + 4 * biasN };
}

/** Tile configuration: threads per workgroup along M and N (each thread owns an 8×8 block) and the K tile depth. */
interface Tiles {
  WG_M: number;
  WG_N: number;
  BK: number;
}
const TM = 8; // must match const TM/TN in shaders/lib/gemm.wgsl
const TN = 8;

/**
 * 64×64 output tiles by default; narrow outputs (LoRA rank columns) and short inputs (few
 * rows) get narrow, tall tiles so few threads idle. Workgroup memory: BK·(BM+BN)·4 ≤ 9 KiB.
 */
function pickTiles(M: number, N: number): Tiles {
  if (N <= 16) return { WG_M: 16, WG_N: 2, BK: 16 };
  if (N <= 32) return { WG_M: 16, WG_N: 4, BK: 16 };
  if (M <= 16) return { WG_M: 2, WG_N: 16, BK: 16 };
  return { WG_M: 8, WG_N: 8, BK: 16 };
}

/** Kernel-level u32 hash (lowbias32); hash32 in shaders/lib/hash.wgsl is the same function. */
export function hash32(x: number): number {
  let v = x >>> 0;
  v ^= v >>> 16;
  v = Math.imul(v, 0x7feb352d);
  v ^= v >>> 15;
  v = Math.imul(v, 0x846ca68b);
  v ^= v >>> 16;
  return v >>> 0;
}

/** The dropout fields of a kernel's Params (lib/hash.wgsl's dropout arguments). */
interface DropoutParams {
  dropThreshold: number;
  dropScale: number;
  seedHash: number;
}

/** The dropout fields for `d` (its seed read from `v` when it is a step value). */
export function dropoutParams(d: Dropout | undefined, v?: StepValues): DropoutParams {
  if (!d || d.p === 0) return { dropThreshold: 0, dropScale: 1, seedHash: 0 };
  if (!(d.p > 0 && d.p < 1)) throw new Error(`dropout p=${d.p} must be in [0, 1)`);
  const seed = liveValue(d.seed, v);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`dropout seed ${seed} is not a u32`);
  return { dropThreshold: Math.min(0xffffffff, Math.round(d.p * 2 ** 32)), dropScale: 1 / (1 - d.p), seedHash: hash32(seed) };
}

/**
 * Dropout params of a grouped dispatch's products (workgroup z = product; one p, a seed each):
 * the first product's fields and the other two's seed hashes (seedHash1, seedHash2).
 */
export function groupDropoutParams(drops: readonly (Dropout | undefined)[], v: StepValues | undefined, who: string): DropoutParams & { seedHash1: number; seedHash2: number } {
  const d = drops.map((x) => dropoutParams(x, v));
  if (d.some((x) => x.dropThreshold !== d[0].dropThreshold || x.dropScale !== d[0].dropScale)) throw new Error(`${who}: the products of a group must share one dropout p`);
  return { ...d[0], seedHash1: d[1]?.seedHash ?? 0, seedHash2: d[2]?.seedHash ?? 0 };
}

/** Storage unit of a bound tensor: f32 activations are blocks of one 4-byte value. */
type Unit = Pick<WeightFormat, 'blockValues' | 'blockBytes'>;
const F32: Unit = { blockValues: 1, blockBytes: 4 };

/**
 * Binds elements [elem0, elem0 + count) of `s` (whole blocks of `u`): the binding starts at
 * the aligned byte at or below elem0, and the returned `elemOff` is elem0's index inside it.
 * So float chunk boundaries need no alignment (a chunk just needs its bytes + align ≤ limit);
 * a block format's binding must start a whole number of blocks before elem0.
 */
function subBinding(s: BufferSpan, elem0: number, count: number, u: Unit, align: number, what: string): { binding: Binding; elemOff: number } {
  const start = s.offset + (elem0 / u.blockValues) * u.blockBytes;
  const end = start + (count / u.blockValues) * u.blockBytes;
  if (end > s.offset + s.size) throw new Error(`${what}: needs ${end - s.offset} bytes, binding has ${s.size}`);
  const bindStart = Math.floor(start / align) * align;
  const blockOff = (start - bindStart) / u.blockBytes;
  if (!Number.isInteger(blockOff)) throw new Error(`${what}: offset ${s.offset} is not a multiple of ${u.blockBytes}${u.blockValues > 1 ? ` (a block format's offset modulo ${align} must be whole blocks)` : ''}`);
  const elemOff = blockOff * u.blockValues;
  // Storage binding sizes must be multiples of 4 (an odd f16 count rounds up) and stay inside the buffer.
  const size = Math.min(Math.ceil((end - bindStart) / 4) * 4, s.buffer.size - bindStart);
  return { binding: { buffer: s.buffer, offset: bindStart, size }, elemOff };
}

export interface Limits {
  bytes: number;
  align: number;
}

export function limitsOf(ctx: GpuContext, maxBindingBytes?: number): Limits {
  const align = ctx.caps.minStorageBufferOffsetAlignment;
  const bytes = Math.min(ctx.caps.maxStorageBufferBindingSize, maxBindingBytes ?? Infinity);
  return { bytes, align };
}

/** How many rows of `rowBytes` fit one binding, allowing for an unaligned start. */
function rowsPerBinding(l: Limits, rowBytes: number, what: string): number {
  const rows = Math.floor((l.bytes - l.align) / rowBytes);
  if (rows < 1) throw new Error(`${what}: one row of ${rowBytes} bytes does not fit a ${l.bytes}-byte storage binding`);
  return rows;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Rows of W per dispatch. A block format's ranges start where the first one does modulo the
 * alignment (a multiple of the rows that span whole alignment steps), so every range's offset
 * in its binding is whole blocks; float formats split anywhere.
 */
function weightRowsPerBinding(l: Limits, f: WeightFormat, rowBytes: number, rows: number, what: string): number {
  const fit = rowsPerBinding(l, rowBytes, what);
  if (f.blockValues === 1 || fit >= rows) return fit;
  const quantum = l.align / gcd(rowBytes, l.align);
  if (fit < quantum) throw new Error(`${what}: ${quantum} rows of ${rowBytes} bytes (one aligned step) do not fit a ${l.bytes}-byte storage binding`);
  return fit - (fit % quantum);
}

function checkDims(what: string, dims: Record<string, number>): void {
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what}: ${k}=${v} must be a positive integer`);
  }
}

const dummies = new WeakMap<GpuContext, GPUBuffer>();
/** A tiny buffer bound where a kernel declares an optional input (layout 'auto' needs every binding bound). */
function dummyBuffer(ctx: GpuContext): GPUBuffer {
  let b = dummies.get(ctx);
  if (!b) {
    b = ctx.createBuffer(16, 'matmul-dummy');
    dummies.set(ctx, b);
  }
  return b;
}

/**
 * out[BT, OC] = alpha · dropout(inp)[BT, C] · W[OC, C]ᵀ + bias[OC]   (+ out when accumulate)
 *
 * - inp: f32 [BT, C] row-major; out: f32 [BT, OC]; bias: f32 [OC] or null.
 * - weight: [OC, C] row-major in weight.dtype; 'f16' is read as f16 and accumulated in f32.
 * - Any tensor larger than a storage binding is split: W into row ranges (each writing a
 *   column slice of out), inp/out into row chunks. Each chunk is a separate dispatch.
 * - out must not alias inp, weight or bias.
 */
export function matmulForward(
  ctx: GpuContext,
  rec: Recorder,
  out: Binding,
  inp: Binding,
  weight: Weight,
  bias: Binding | null,
  BT: number,
  C: number,
  OC: number,
  opts: MatmulForwardOptions = {},
): void {
  checkDims('matmulForward', { BT, C, OC });
  const fmt = weightFormat(ctx, weight.dtype, 'matmulForward');
  const lim = limitsOf(ctx, opts.maxBindingBytes);
  const code = withWeights(forwardCode, fmt);
  const wRowBytes = weightRowBytes(weight.dtype, C, 'matmulForward weight');
  const wb = wRowBytes / C; // bytes per weight value (block scales included), for the profile's cost
  const wRows = weightRowsPerBinding(lim, fmt, wRowBytes, OC, 'matmulForward weight');
  const actRows = Math.min(rowsPerBinding(lim, OC * 4, 'matmulForward out'), rowsPerBinding(lim, C * 4, 'matmulForward inp'));
  if (bias && OC * 4 + lim.align > lim.bytes) throw new Error(`matmulForward: bias of ${OC} f32 exceeds a storage binding`);
  const outS = bindingSpan(out);
  const inpS = bindingSpan(inp);
  const wS = bindingSpan(weight.buffer);
  const biasB = bias ? subBinding(bindingSpan(bias), 0, OC, F32, lim.align, 'matmulForward bias') : { binding: dummyBuffer(ctx), elemOff: 0 };
  const up = opts.loraUp;
  if (up) {
    checkDims('matmulForward loraUp', { R: up.R });
    if (!Number.isFinite(up.alpha)) throw new Error(`matmulForward loraUp: alpha ${up.alpha} is not finite`);
  }
  const none = { binding: dummyBuffer(ctx), elemOff: 0 };
  for (let r0 = 0; r0 < BT; r0 += actRows) {
    const M = Math.min(actRows, BT - r0);
    const inpB = subBinding(inpS, r0 * C, M * C, F32, lim.align, 'matmulForward inp');
    const outB = subBinding(outS, r0 * OC, M * OC, F32, lim.align, 'matmulForward out');
    const hB = up ? subBinding(bindingSpan(up.h), r0 * up.R, M * up.R, F32, lim.align, 'matmulForward loraUp h') : none;
    for (let c0 = 0; c0 < OC; c0 += wRows) {
      const N = Math.min(wRows, OC - c0);
      const wB = subBinding(wS, c0 * C, N * C, fmt, lim.align, 'matmulForward weight');
      const bB = up ? subBinding(bindingSpan(up.B), c0 * up.R, N * up.R, F32, lim.align, 'matmulForward loraUp B') : none;
      const t = pickTiles(M, N);
      // LORA_UP is only set when fused, so the plain kernel's pipeline (and its key) is unchanged.
      const constants = up ? { ...t, LORA_UP: 1 } : { ...t };
      const pipeline = ctx.pipeline(code, { constants, label: `matmul_forward_${weight.dtype}` });
      const params = packLive((v) => FORWARD_PARAMS.pack({
        M, N, K: C, ldo: OC, outOff: outB.elemOff + c0, inpOff: inpB.elemOff, wOff: wB.elemOff, biasOff: biasB.elemOff + c0,
        hasBias: bias ? 1 : 0, accumulate: opts.accumulate ? 1 : 0, alpha: opts.alpha ?? 1, ...dropoutParams(opts.dropout, v), dropRow0: r0,
        R: up?.R ?? 0, hOff: hB.elemOff, bOff: bB.elemOff, loraAlpha: up?.alpha ?? 0,
        outOff1: 0, outOff2: 0, wOff1: 0, wOff2: 0, seedHash1: 0, seedHash2: 0,
      }), opts.dropout?.seed);
      const groups: [number, number] = [ceilDiv(N, t.WG_N * TN), ceilDiv(M, t.WG_M * TM)];
      const cost = matmulCost(M, N, C, wb, Boolean(opts.accumulate), bias ? N : 0);
      if (up) {
        // The epilogue's product: 2·M·N·R FLOPs, h and B read once (out is already counted).
        cost.flops += 2 * M * N * up.R;
        cost.bytes += 4 * (M + N) * up.R;
      }
      rec.dispatch(pipeline, [outB.binding, inpB.binding, wB.binding, biasB.binding, hB.binding, bB.binding], params, groups, opts.label ?? 'matmul_forward', cost);
    }
  }
}

/** One product of matmulForwardGroup: out[BT, N] = dropout(inp) · W[N, C]ᵀ with an f32 W. */
export interface GroupProduct {
  out: Binding;
  weight: Binding;
  dropout?: Dropout;
}

/** At most this many products per grouped dispatch (the kernels' Params hold 3 parts). */
export const MAX_GROUP_PARTS = 3;

/**
 * Ranges of one buffer bound as the one range that spans them all, with each range's start
 * in f32 elements from the binding's start; null when they are not all in one buffer or the
 * span exceeds `l`.
 */
export function spanBinding(bs: readonly Binding[], l: Limits): { binding: Binding; elemOffs: number[] } | null {
  const spans = bs.map(bindingSpan);
  const buffer = spans[0].buffer;
  if (spans.some((s) => s.buffer !== buffer || s.offset % 4 !== 0)) return null;
  const start = Math.floor(Math.min(...spans.map((s) => s.offset)) / l.align) * l.align;
  const end = Math.max(...spans.map((s) => s.offset + s.size));
  if (end - start > l.bytes) return null;
  return { binding: { buffer, offset: start, size: end - start }, elemOffs: spans.map((s) => (s.offset - start) / 4) };
}

/**
 * Up to MAX_GROUP_PARTS products over the same inp (LoRA's down-projections of the modules
 * that read one normed x), each out[BT, N] = dropout_i(inp)[BT, C] · W_i[N, C]ᵀ with its own f32
 * weight and dropout mask, as ONE dispatch (workgroup z = product) when the outs are ranges of
 * one buffer, the weights ranges of another, and each fits one binding; otherwise one
 * matmulForward per product. Bit-identical to the separate matmulForward calls either way.
 * The outs must not overlap each other, inp or the weights.
 */
export function matmulForwardGroup(ctx: GpuContext, rec: Recorder, parts: readonly GroupProduct[], inp: Binding, BT: number, C: number, N: number, opts: { label?: string; maxBindingBytes?: number } = {}): void {
  checkDims('matmulForwardGroup', { BT, C, N, parts: parts.length });
  if (parts.length > MAX_GROUP_PARTS) throw new Error(`matmulForwardGroup: ${parts.length} products, at most ${MAX_GROUP_PARTS} per group`);
  const lim = limitsOf(ctx, opts.maxBindingBytes);
  const outs = spanBinding(parts.map((p) => p.out), lim);
  const ws = spanBinding(parts.map((p) => p.weight), lim);
  if (parts.length === 1 || !outs || !ws || BT * C * 4 + lim.align > lim.bytes) {
    for (const p of parts) matmulForward(ctx, rec, p.out, inp, { buffer: p.weight, dtype: 'f32' }, null, BT, C, N, { dropout: p.dropout, label: opts.label, maxBindingBytes: opts.maxBindingBytes });
    return;
  }
  const inpB = subBinding(bindingSpan(inp), 0, BT * C, F32, lim.align, 'matmulForwardGroup inp');
  const t = pickTiles(BT, N);
  const pipeline = ctx.pipeline(withWeights(forwardCode, weightFormat(ctx, 'f32', 'matmulForwardGroup')), { constants: { ...t }, label: 'matmul_forward_f32' });
  const off = (xs: number[], i: number) => xs[i] ?? 0;
  const params = packLive(
    (v) =>
      FORWARD_PARAMS.pack({
        M: BT, N, K: C, ldo: N, outOff: outs.elemOffs[0], inpOff: inpB.elemOff, wOff: ws.elemOffs[0], biasOff: 0,
        hasBias: 0, accumulate: 0, alpha: 1, ...groupDropoutParams(parts.map((p) => p.dropout), v, 'matmulForwardGroup'), dropRow0: 0, R: 0, hOff: 0, bOff: 0, loraAlpha: 0,
        outOff1: off(outs.elemOffs, 1), outOff2: off(outs.elemOffs, 2), wOff1: off(ws.elemOffs, 1), wOff2: off(ws.elemOffs, 2),
      }),
    ...parts.map((p) => p.dropout?.seed),
  );
  const cost = matmulCost(BT, N, C, 4, false);
  // inp is read once for all the products; each has its own weight and out.
  cost.flops *= parts.length;
  cost.bytes += (parts.length - 1) * 4 * (N * C + BT * N);
  const none = dummyBuffer(ctx);
  rec.dispatch(pipeline, [outs.binding, inpB.binding, ws.binding, none, none, none], params, [ceilDiv(N, t.WG_N * TN), ceilDiv(BT, t.WG_M * TM), parts.length], opts.label ?? 'matmul_forward', cost);
}

/**
 * dinp[BT, C] = dropout'(alpha · dout[BT, OC] · W[OC, C])   (dinp += … when opts.accumulate)
 *
 * The input gradient of matmulForward with a frozen W (no dW). dout, dinp: f32 row-major;
 * weight as in matmulForward. With dropout, the result is multiplied by the forward's mask
 * (same seed, same p) and 1/(1-p). A W too large for one binding is processed in row ranges
 * (K chunks accumulating into dinp); dout/dinp in row chunks. dinp must not alias dout or W.
 */
export function matmulBackward(
  ctx: GpuContext,
  rec: Recorder,
  dinp: Binding,
  dout: Binding,
  weight: Weight,
  BT: number,
  C: number,
  OC: number,
  opts: MatmulBackwardOptions,
): void {
  checkDims('matmulBackward', { BT, C, OC });
  const fmt = weightFormat(ctx, weight.dtype, 'matmulBackward');
  const lim = limitsOf(ctx, opts.maxBindingBytes);
  const code = withWeights(backwardCode, fmt);
  const wRowBytes = weightRowBytes(weight.dtype, C, 'matmulBackward weight');
  const wb = wRowBytes / C;
  const wRows = weightRowsPerBinding(lim, fmt, wRowBytes, OC, 'matmulBackward weight');
  const actRows = Math.min(rowsPerBinding(lim, OC * 4, 'matmulBackward dout'), rowsPerBinding(lim, C * 4, 'matmulBackward dinp'));
  const dinpS = bindingSpan(dinp);
  const doutS = bindingSpan(dout);
  const wS = bindingSpan(weight.buffer);
  const dx = opts.loraDx;
  if (dx) {
    checkDims('matmulBackward loraDx', { R: dx.R });
    if (!Number.isFinite(dx.alpha)) throw new Error(`matmulBackward loraDx: alpha ${dx.alpha} is not finite`);
  }
  const none = { binding: dummyBuffer(ctx), elemOff: 0 };
  const aB = dx ? subBinding(bindingSpan(dx.A), 0, dx.R * C, F32, lim.align, 'matmulBackward loraDx A') : none;
  for (let r0 = 0; r0 < BT; r0 += actRows) {
    const M = Math.min(actRows, BT - r0);
    const dinpB = subBinding(dinpS, r0 * C, M * C, F32, lim.align, 'matmulBackward dinp');
    const doutB = subBinding(doutS, r0 * OC, M * OC, F32, lim.align, 'matmulBackward dout');
    for (let k0 = 0; k0 < OC; k0 += wRows) {
      const K = Math.min(wRows, OC - k0);
      const wB = subBinding(wS, k0 * C, K * C, fmt, lim.align, 'matmulBackward weight');
      // The LoRA term goes onto the finished base sum: the last K chunk's epilogue.
      const fuse = dx && k0 + K >= OC ? dx : null;
      const dhB = fuse ? subBinding(bindingSpan(fuse.dh), r0 * fuse.R, M * fuse.R, F32, lim.align, 'matmulBackward loraDx dh') : none;
      const t = pickTiles(M, C);
      // LORA_DX is only set when fused, so the plain kernel's pipeline (and its key) is unchanged.
      const constants = fuse ? { ...t, LORA_DX: 1 } : { ...t };
      const pipeline = ctx.pipeline(code, { constants, label: `matmul_backward_${weight.dtype}` });
      // Later K chunks always add onto the first one's result.
      const accumulate = opts.accumulate || k0 > 0;
      const params = packLive((v) => {
        const ld = dropoutParams(fuse?.dropout, v);
        return BACKWARD_PARAMS.pack({
          M, N: C, K, ldd: OC, dinpOff: dinpB.elemOff, doutOff: doutB.elemOff + k0, wOff: wB.elemOff,
          accumulate: accumulate ? 1 : 0, alpha: opts.alpha ?? 1, ...dropoutParams(opts.dropout, v), dropRow0: r0,
          R: fuse?.R ?? 0, dhOff: dhB.elemOff, aOff: aB.elemOff, loraAlpha: fuse?.alpha ?? 0,
          loraDropThreshold: ld.dropThreshold, loraDropScale: ld.dropScale, loraSeedHash: ld.seedHash,
        });
      }, opts.dropout?.seed, fuse?.dropout?.seed);
      const groups: [number, number] = [ceilDiv(C, t.WG_N * TN), ceilDiv(M, t.WG_M * TM)];
      const cost = matmulCost(M, C, K, wb, accumulate);
      if (fuse) {
        // The epilogue's product: 2·M·C·R FLOPs, dh and A read once (dinp is already counted).
        cost.flops += 2 * M * C * fuse.R;
        cost.bytes += 4 * (M + C) * fuse.R;
      }
      rec.dispatch(pipeline, [dinpB.binding, doutB.binding, wB.binding, dhB.binding, aB.binding], params, groups, opts.label ?? 'matmul_backward', cost);
    }
  }
}
