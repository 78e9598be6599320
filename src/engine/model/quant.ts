// ggml tensor types as GGUF stores them: float types and the block-quantized formats Q8_0,
// Q4_0, Q4_K and Q6_K. Dequantization reproduces ggml's dequantize_row_* bit for bit (same
// f32 rounding steps); the quantizers are ggml's quantize_row_*_ref (what llama-quantize runs
// without an importance matrix), every f32 step emulated, for quantize-on-load of float
// checkpoints and for writing GGUF files. Blocks run along a row (ne0, a weight's input
// features), so a row is always a whole number of blocks. Pure functions over bytes.
// Source: ggml-org/llama.cpp ggml/src/ggml-quants.c, ggml-common.h.
import { type FloatDtype, bytesToFloat32, f16BitsToNumber, float32ToBytes, numberToF16Bits } from './dtype';
import type { FloatTensorSource, Tensor, TensorStore } from './safetensors';
import { isLinearWeight } from './config';

/** ggml type codes (enum ggml_type) of the types the studio reads and writes. */
export const GGML_TYPES = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, Q4_K: 12, Q6_K: 14, BF16: 30 } as const;
export type GgmlType = keyof typeof GGML_TYPES;
export type QuantType = Exclude<GgmlType, FloatDtype>;
export const QUANT_TYPES: readonly QuantType[] = ['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];

/** Values per block and bytes per block (1 value for float types). */
export const GGML_BLOCK: Record<GgmlType, { values: number; bytes: number }> = {
  F32: { values: 1, bytes: 4 },
  F16: { values: 1, bytes: 2 },
  BF16: { values: 1, bytes: 2 },
  Q8_0: { values: 32, bytes: 34 }, // f16 d, 32 × i8
  Q4_0: { values: 32, bytes: 18 }, // f16 d, 16 bytes of nibbles
  Q4_K: { values: 256, bytes: 144 }, // f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
  Q6_K: { values: 256, bytes: 210 }, // 128 bytes ql, 64 bytes qh, 16 × i8 scales, f16 d
};

/** Every ggml type's name by code, for messages about the ones not supported. */
const GGML_TYPE_NAMES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K',
  16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M', 30: 'BF16', 34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4',
};

/** "Q5_K (ggml type 13)" */
export function describeGgmlType(code: number): string {
  return `${GGML_TYPE_NAMES[code] ?? 'unknown'} (ggml type ${code})`;
}

const TYPE_BY_CODE = new Map<number, GgmlType>(Object.entries(GGML_TYPES).map(([k, v]) => [v, k as GgmlType]));

/** The type name of a ggml type code, or null when the studio does not support it. */
export function ggmlTypeName(code: number): GgmlType | null {
  return TYPE_BY_CODE.get(code) ?? null;
}

export function isQuantType(t: GgmlType): t is QuantType {
  return GGML_BLOCK[t].values > 1;
}

/** Bytes of `n` values of `type`; throws when n is not a whole number of blocks. */
export function ggmlByteSize(type: GgmlType, n: number): number {
  const b = GGML_BLOCK[type];
  if (n % b.values) throw new Error(`${type}: ${n} values are not a whole number of ${b.values}-value blocks`);
  return (n / b.values) * b.bytes;
}

/** Bytes of one row of `rowLength` values (a row is whole blocks: quantized rows must be a multiple of the block). */
export function ggmlRowBytes(type: GgmlType, rowLength: number): number {
  const b = GGML_BLOCK[type];
  if (rowLength % b.values) throw new Error(`${type}: a row of ${rowLength} values is not a whole number of ${b.values}-value blocks`);
  return (rowLength / b.values) * b.bytes;
}

const f32 = Math.fround;

function blockCount(type: QuantType, bytes: Uint8Array): number {
  const { bytes: bb } = GGML_BLOCK[type];
  if (bytes.byteLength % bb) throw new Error(`${type}: ${bytes.byteLength} bytes are not a whole number of ${bb}-byte blocks`);
  return bytes.byteLength / bb;
}

/** dequantize_row_q8_0: value = q · d. */
function dequantizeQ8_0(x: Uint8Array, y: Float32Array): void {
  const nb = blockCount('Q8_0', x);
  for (let i = 0; i < nb; i++) {
    const o = i * 34;
    const d = f16BitsToNumber(x[o] | (x[o + 1] << 8));
    for (let j = 0; j < 32; j++) y[i * 32 + j] = ((x[o + 2 + j] << 24) >> 24) * d; // i8 × f16 is exact in f32
  }
}

/** dequantize_row_q4_0: byte j holds element j (low nibble) and j + 16 (high); value = (q − 8) · d. */
function dequantizeQ4_0(x: Uint8Array, y: Float32Array): void {
  const nb = blockCount('Q4_0', x);
  for (let i = 0; i < nb; i++) {
    const o = i * 18;
    const d = f16BitsToNumber(x[o] | (x[o + 1] << 8));
    for (let j = 0; j < 16; j++) {
      const q = x[o + 2 + j];
      y[i * 32 + j] = ((q & 0x0f) - 8) * d;
      y[i * 32 + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

/**
 * get_scale_min_k4: the 6-bit scale and min of sub-block j (0..7) from Q4_K's 12 scale bytes.
 * Sub-blocks 0–3: low 6 bits of bytes j (scale) and j + 4 (min). Sub-blocks 4–7: low nibble
 * (scale) / high nibble (min) of byte j + 4, with the top 2 bits of bytes j − 4 (scale) and
 * j (min) as bits 4–5.
 */
export function q4kScaleMin(scales: Uint8Array, j: number): [scale: number, min: number] {
  if (j < 4) return [scales[j] & 63, scales[j + 4] & 63];
  return [(scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4), (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4)];
}

/** The inverse of q4kScaleMin: 8 six-bit scales and mins → Q4_K's 12 scale bytes (at out[o, o + 12)). */
export function packQ4KScales(sc: ArrayLike<number>, m: ArrayLike<number>, out: Uint8Array = new Uint8Array(12), o = 0): Uint8Array {
  for (let j = 0; j < 4; j++) {
    out[o + j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
    out[o + j + 4] = (m[j] & 63) | ((m[j + 4] >> 4) << 6);
    out[o + j + 8] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4);
  }
  return out;
}

/**
 * dequantize_row_q4_K: 8 sub-blocks of 32; each 32 bytes of qs hold two consecutive
 * sub-blocks (low nibbles first, then high); value = d·scale·q − dmin·min.
 */
function dequantizeQ4_K(x: Uint8Array, y: Float32Array): void {
  const nb = blockCount('Q4_K', x);
  for (let i = 0; i < nb; i++) {
    const o = i * 144;
    const d = f16BitsToNumber(x[o] | (x[o + 1] << 8));
    const dmin = f16BitsToNumber(x[o + 2] | (x[o + 3] << 8));
    const scales = x.subarray(o + 4, o + 16);
    let q = o + 16;
    let out = i * 256;
    for (let j = 0; j < 8; j += 2) {
      const [sc1, m1] = q4kScaleMin(scales, j);
      const [sc2, m2] = q4kScaleMin(scales, j + 1);
      // d·sc and dmin·m are exact in f32 (11 × 6 bits), and so is d1·q: one rounding, at the subtraction.
      const d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
      for (let l = 0; l < 32; l++) y[out++] = d1 * (x[q + l] & 0x0f) - mm1;
      for (let l = 0; l < 32; l++) y[out++] = d2 * (x[q + l] >> 4) - mm2;
      q += 32;
    }
  }
}

/**
 * dequantize_row_q6_K: two halves of 128; in each, 64 bytes of ql (low 4 bits), 32 bytes of qh
 * (2 high bits each for 4 values) and 8 scales of 16 values; value = d·scale·(q − 32).
 */
function dequantizeQ6_K(x: Uint8Array, y: Float32Array): void {
  const nb = blockCount('Q6_K', x);
  for (let i = 0; i < nb; i++) {
    const o = i * 210;
    const d = f16BitsToNumber(x[o + 208] | (x[o + 209] << 8));
    for (let n = 0; n < 2; n++) {
      const ql = o + n * 64;
      const qh = o + 128 + n * 32;
      const sc = o + 192 + n * 8;
      const base = i * 256 + n * 128;
      const s = (k: number) => f32(d * ((x[sc + k] << 24) >> 24)); // (d · sc) in f32, as ggml
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = x[qh + l];
        const q1 = ((x[ql + l] & 0x0f) | ((h & 3) << 4)) - 32;
        const q2 = ((x[ql + l + 32] & 0x0f) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((x[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((x[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        // (d·sc)·q can need 25 bits: stored into f32, which rounds as ggml's float product does.
        y[base + l] = s(is) * q1;
        y[base + l + 32] = s(is + 2) * q2;
        y[base + l + 64] = s(is + 4) * q3;
        y[base + l + 96] = s(is + 6) * q4;
      }
    }
  }
}

const DEQUANTIZE: Record<QuantType, (x: Uint8Array, y: Float32Array) => void> = {
  Q8_0: dequantizeQ8_0,
  Q4_0: dequantizeQ4_0,
  Q4_K: dequantizeQ4_K,
  Q6_K: dequantizeQ6_K,
};

/** Raw bytes of any supported type (blocks or floats) → float32 values, as ggml's to_float gives them. */
export function dequantize(type: GgmlType, bytes: Uint8Array): Float32Array {
  if (!isQuantType(type)) return bytesToFloat32(type, bytes);
  const out = new Float32Array(blockCount(type, bytes) * GGML_BLOCK[type].values);
  DEQUANTIZE[type](bytes, out);
  return out;
}

function writeF16(out: Uint8Array, o: number, v: number): void {
  const h = numberToF16Bits(v);
  out[o] = h & 0xff;
  out[o + 1] = h >> 8;
}

/** quantize_row_q8_0_ref: d = max|x| / 127, q = round-half-away(x / d), all steps in f32. */
function quantizeQ8_0(x: Float32Array, out: Uint8Array): void {
  for (let i = 0; i < x.length / 32; i++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(f32(x[i * 32 + j])));
    const d = f32(amax / 127);
    const id = d ? f32(1 / d) : 0;
    writeF16(out, i * 34, d);
    for (let j = 0; j < 32; j++) {
      const v = f32(f32(x[i * 32 + j]) * id);
      out[i * 34 + 2 + j] = (Math.sign(v) * Math.round(Math.abs(v))) & 0xff; // C roundf
    }
  }
}

/** quantize_row_q4_0_ref: m = the x of largest |x| (signed), d = m / −8, q = min(15, trunc(x/d + 8.5)). */
function quantizeQ4_0(x: Float32Array, out: Uint8Array): void {
  for (let i = 0; i < x.length / 32; i++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = f32(x[i * 32 + j]);
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f32(max / -8);
    const id = d ? f32(1 / d) : 0;
    writeF16(out, i * 18, d);
    const q = (v: number) => Math.min(15, Math.trunc(f32(f32(f32(v) * id) + 8.5)));
    for (let j = 0; j < 16; j++) out[i * 18 + 2 + j] = q(x[i * 32 + j]) | (q(x[i * 32 + 16 + j]) << 4);
  }
}

// ---- k-quants: ggml's quantize_row_q4_K_ref / quantize_row_q6_K_ref, every float step in f32 ----
// Hot (a 0.6B model is ~10⁸ values). ggml's searches try ~20 grids per sub-block and keep the
// best; here a grid's codes are re-rounded only where they can change, and ggml's f32 sums and
// error run only for grids not proven (from float64 sums with bounds on f32 rounding) to lose.
// The bytes are ggml's either way (quant.test.ts: ggml's own bytes for fuzzed blocks). The
// helpers take offsets into the row and share the module's scratch arrays (quantizing is
// synchronous and never re-entered).

/** ggml's nearest_int: round half to even through the 1.5·2²³ trick (exact for |v| ≤ 2²² − 1). */
function nearestInt(v: number): number {
  return Math.abs(v) <= 4194303 ? f32(v + 12582912) - 12582912 : Math.round(v);
}

/**
 * nearestInt(v) clamped to [lo, hi] (|lo|, |hi| small), without nearestInt's range test: past
 * ±(2²² − 1) the bare trick errs only on values that it and Math.round both take beyond the
 * clamp, and it keeps NaN as NaN (as Math.max / Math.min do).
 */
function nearestIntClamped(v: number, lo: number, hi: number): number {
  const l = f32(v + 12582912) - 12582912;
  return l < lo ? lo : l > hi ? hi : l;
}

const GROUP_MAX_EPS = f32(1e-15);
const U24 = 2 ** -24; // f32's unit roundoff
const RDELTA = f32(0.1);

const KQ_L = new Uint8Array(256); // a block's codes
const KQ_LAUX = new Float64Array(32); // one sub-block's codes on the grid being tried (NaN kept: it never equals a code)
const KQ_W = new Float32Array(32); // one sub-block's per-value weights
const KQ_WX = new Float32Array(32); // ... and weight·x
const KQ_XM = new Float32Array(32); // ... and x − the best min so far
const KQ_NEXT = new Float64Array(32); // ... and the iscale below which each code cannot change
const KQ_SCALES = new Float32Array(16);
const KQ_MINS = new Float32Array(8);
const Q4K_LS = new Uint8Array(8), Q4K_LM = new Uint8Array(8);

/**
 * make_qkx2_quants(n, nmax, x, weights, L, &the_min, Laux, rmin = −1, rdelta = 0.1, nstep = 20,
 * use_mad = false) on x[xo, xo + n) with weights w[0, n): x ≈ scale·L − the_min with L in 0..nmax;
 * the scale and min are searched over 21 grid spacings for the least weighted squared error (each
 * grid offset by the best min so far, as in ggml). Writes L[lo, lo + n), scales[j] and mins[j] (the_min).
 *
 * Most grids lose. Each grid's float64 sums Σw·l, Σw·l², Σw·l·x are kept up to date from the codes
 * that change (exact terms), and a screen proves most losers lose from them; ggml's f32 sums,
 * fit and error run only for the rest.
 */
function makeQkx2Quants(x: Float32Array, xo: number, n: number, w: Float32Array, nmax: number, L: Uint8Array, lo: number, scales: Float32Array, mins: Float32Array, j: number): void {
  const Laux = KQ_LAUX, xm = KQ_XM, next = KQ_NEXT;
  let min = x[xo], max = x[xo];
  let sumW = w[0];
  let sumX = f32(sumW * x[xo]);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i];
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    sumW = f32(sumW + w[i]);
    sumX = f32(sumX + f32(w[i] * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    scales[j] = 0;
    mins[j] = -min;
    return;
  }
  let iscale = f32(nmax / f32(max - min));
  let scale = f32(1 / iscale);
  let bestError = 0;
  let w1 = 0, wx1 = 0, wxx = 0, wax = 0; // float64 Σw, Σw·x, Σw·x², Σw·|x|
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i];
    xm[i] = xi - min; // rounded to f32 by the store
    const l = nearestIntClamped(f32(iscale * xm[i]), 0, nmax);
    L[lo + i] = l;
    const diff = f32(f32(f32(scale * l) + min) - xi);
    bestError = f32(bestError + f32(w[i] * f32(diff * diff)));
    w1 += w[i];
    wx1 += w[i] * xi;
    wxx += w[i] * xi * xi;
    wax += w[i] * Math.abs(xi);
  }
  // the screen's sub-block terms: 1/Σw, √Σw, x̄, Σw·(x − x̄)² less its margin, the Σw·l·x error bound
  const invW1 = 1 / w1, sqrtW1 = Math.sqrt(w1), xbar = wx1 / w1;
  const Sxx = wxx - (wx1 * wx1) / w1 - 1e-6 * wxx;
  const eXL = (40 * U24 + 1e-12) * nmax * wax;
  Laux.fill(0, 0, n);
  next.fill(-Infinity, 0, n);
  let sL = 0, sL2 = 0, sXL = 0; // float64 Σw·l, Σw·l², Σw·l·x of Laux
  for (let is = 0; is <= 20; is++) {
    // max − min and x − min use the best min so far, as ggml's loop does (it updates `min` in place)
    iscale = f32(f32(f32(-1 + f32(RDELTA * is)) + nmax) / f32(max - min));
    let changed = is === 0;
    for (let i = 0; i < n; i++) {
      if (iscale < next[i]) continue;
      const l = nearestIntClamped(f32(iscale * xm[i]), 0, nmax);
      const old = Laux[i];
      if (l !== old) {
        // w (24 bits) times a code difference (≤ 4 bits), a difference of squares (≤ 8 bits) or that and x: exact in float64
        const dl = l - old;
        sL += w[i] * dl;
        sL2 += w[i] * (l * l - old * old);
        sXL += w[i] * x[xo + i] * dl;
        Laux[i] = l; // a NaN code stays NaN: it never equals a code, and it makes the sums NaN
        changed = true;
      }
      // While min stays, iscale only grows and a code only rises, once f32(iscale·xm) ≥ l + 0.5:
      // not before iscale ≥ (l + 0.5)/((1 + 2⁻²⁴)·xm). Codes at nmax, or of xm ≤ 0 (or NaN), stay.
      next[i] = l < nmax && xm[i] > 0 ? ((l + 0.5) * (1 - 1e-6)) / xm[i] : Infinity;
    }
    // The last grid's codes again: the same fit and error, which did not beat bestError (or set it).
    if (!changed) continue;
    // The screen: `continue` only where this grid surely does not beat bestError (ggml's f32 D ≤ 0,
    // or its f32 error Σ w·diff² ≥ bestError), from the float64 sums of the codes (sL, sL2, sXL, each
    // within ~1e−13 of the exact sum of exact terms), the sub-block's (Σw, x̄, Sxx, eXL from Σw·|x|)
    // and ggml's own f32 sumW, sumX:
    // - ggml's f32 sums of the codes are within 40·2⁻²⁴ of the exact sums, relative to the sums of
    //   the terms' magnitudes (≤ 33 roundings; l ≤ nmax bounds the last one's), which bounds its D
    //   from below and its |scale|, |min| from above;
    // - whatever (scale, min) it gets, the exact weighted residual norm is at least √E, E the least
    //   squares residual of x on (codes, 1), computed centered, less 1e−6·Σw·x² (float64 rounding,
    //   amplified at most ~1e3× with Sll ≥ 1e−3·Σw·l² required);
    // - its f32 diffs are off by at most 1.01·2⁻²⁴·(2|scale|·l + |min| + |diff|) each (3 roundings;
    //   3·2⁻¹⁴⁹ more if subnormal), so their weighted norm is at least √E less those, and its f32
    //   sum of the f32 terms w·diff² is at least (1 − 2⁻¹⁸) times their square (33 roundings of
    //   terms ≥ 0).
    // NaN, infinities and close calls leave the screen (break) to ggml's arithmetic below.
    screen: {
      const eL = 40 * U24 * sL + 1e-12 * nmax * w1;
      const eL2 = 40 * U24 * sL2 + 1e-12 * nmax * nmax * w1;
      // the least squares residual, centered: Sxx − Sxl²/Sll (Sxx given less the margin)
      const Sll = sL2 - sL * sL * invW1;
      if (!(Sll >= 1e-3 * sL2)) break screen;
      const Sxl = sXL - sL * xbar;
      const E = Sxx - (Sxl * Sxl) / Sll;
      if (!((1 - 2 ** -18) * E >= bestError)) break screen; // the bound below is less than this
      // ggml's D = f32(f32(sumW·sumL2) − f32(sumL·sumL)) from below
      const A = sumW * sL2, B = sL * sL;
      const dev = sumW * eL2 + 2 * sL * eL + eL * eL;
      const Dlo = (A - B - dev - 2 * U24 * (A + B + dev)) * (1 - U24);
      if (!(Dlo > 0) || !(sL2 - eL2 > 0)) break screen;
      // |scale| and |min| from above: ggml's numerators over D, or the min-clamped scale sumXL / sumL2
      const aXL = Math.abs(sXL) + eXL;
      const nS = (sumW * aXL + Math.abs(sumX) * (sL + eL)) * (1 + 4 * U24);
      const nM = ((sL2 + eL2) * Math.abs(sumX) + (sL + eL) * aXL) * (1 + 4 * U24);
      const invD = (1 + 4 * U24) / Dlo;
      const sMax = Math.max(nS * invD, (aXL / (sL2 - eL2)) * (1 + 2 * U24));
      const mMax = nM * invD;
      const norm = (1 - 1.01 * U24) * Math.sqrt(E) - 1.01 * U24 * (2 * sMax * Math.sqrt(sL2 + eL2) + mMax * sqrtW1) - 3 * 2 ** -149 * sqrtW1;
      if (!(norm > 0)) break screen;
      const lb = (1 - 2 ** -18) * norm * norm - 1e-40;
      if (lb * (1 - 1e-12) >= bestError && lb >= 1e-30) continue;
    }
    let sumL = 0, sumL2 = 0, sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Laux[i];
      const wl = f32(w[i] * l);
      sumL = f32(sumL + wl);
      sumL2 = f32(sumL2 + f32(wl * l));
      sumXL = f32(sumXL + f32(wl * x[xo + i]));
    }
    const D = f32(f32(sumW * sumL2) - f32(sumL * sumL));
    if (D > 0) {
      let thisScale = f32(f32(f32(sumW * sumXL) - f32(sumX * sumL)) / D);
      let thisMin = f32(f32(f32(sumL2 * sumX) - f32(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f32(sumXL / sumL2);
      }
      // Every term is ≥ 0 and f32 rounding is monotone: a partial sum that reaches bestError loses.
      let curError = 0;
      for (let i = 0; i < n && curError < bestError; i++) {
        const diff = f32(f32(f32(thisScale * Laux[i]) + thisMin) - x[xo + i]);
        curError = f32(curError + f32(w[i] * f32(diff * diff)));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = Laux[i];
        bestError = curError;
        scale = thisScale;
        min = thisMin;
        for (let i = 0; i < n; i++) xm[i] = x[xo + i] - min;
        next.fill(-Infinity, 0, n); // codes may fall with the new min: recompute them all
      }
    }
  }
  scales[j] = scale;
  mins[j] = -min;
}


/** quantize_row_q4_K_ref: per 32-value sub-block a (scale, min) by makeQkx2Quants, both rounded to 6 bits of the block's f16 d / dmin. */
function quantizeQ4_K(x: Float32Array, out: Uint8Array): void {
  const L = KQ_L, w = KQ_W, scales = KQ_SCALES, mins = KQ_MINS, ls = Q4K_LS, lm = Q4K_LM;
  const nb = x.length / 256;
  for (let i = 0; i < nb; i++) {
    const xo = i * 256;
    const o = i * 144;
    let maxScale = 0, maxMin = 0;
    for (let j = 0; j < 8; j++) {
      const xj = xo + 32 * j;
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = f32(sumX2 + f32(x[xj + l] * x[xj + l]));
      const avX = f32(Math.sqrt(f32(sumX2 / 32)));
      for (let l = 0; l < 32; l++) w[l] = avX + Math.abs(x[xj + l]); // rounded to f32 by the store
      makeQkx2Quants(x, xj, 32, w, 15, L, 32 * j, scales, mins, j);
      if (scales[j] > maxScale) maxScale = scales[j];
      if (mins[j] > maxMin) maxMin = mins[j];
    }
    const invScale = maxScale > 0 ? f32(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? f32(63 / maxMin) : 0;
    for (let j = 0; j < 8; j++) {
      ls[j] = Math.min(63, nearestInt(f32(invScale * scales[j])) & 0xff); // uint8_t, then MIN(63, ·)
      lm[j] = Math.min(63, nearestInt(f32(invMin * mins[j])) & 0xff);
    }
    packQ4KScales(ls, lm, out, o + 4);
    writeF16(out, o, f32(maxScale / 63));
    writeF16(out, o + 2, f32(maxMin / 63));
    const d16 = f16BitsToNumber(out[o] | (out[o + 1] << 8));
    const dmin16 = f16BitsToNumber(out[o + 2] | (out[o + 3] << 8));
    for (let j = 0; j < 8; j++) {
      const d = f32(d16 * ls[j]);
      if (!d) continue; // the sub-block keeps makeQkx2Quants' L, as ggml does
      const dm = f32(dmin16 * lm[j]);
      for (let l = 0; l < 32; l++) L[32 * j + l] = nearestIntClamped(f32(f32(x[xo + 32 * j + l] + dm) / d), 0, 15);
    }
    // 32 bytes per pair of sub-blocks: the first's codes in the low nibbles, the second's in the high
    for (let j = 0; j < 4; j++) for (let l = 0; l < 32; l++) out[o + 16 + 32 * j + l] = L[64 * j + l] | (L[64 * j + 32 + l] << 4);
  }
}

/**
 * make_qx_quants(n, nmax, x, L, rmse_type = 1, NULL) on x[xo, xo + n): x ≈ scale·(L − nmax), L in
 * 0..2·nmax−1; the scale from the largest |x|, refined over 18 nearby grids by the x²-weighted least
 * squares. Writes L[lo, lo + n); returns the scale (signed).
 */
function makeQxQuants(x: Float32Array, xo: number, n: number, nmax: number, L: Uint8Array, lo: number): number {
  const Laux = KQ_LAUX, ww = KQ_W, wx = KQ_WX, next = KQ_NEXT;
  let max = 0, amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  // the weight w = x² and w·x do not depend on the grid (stores round them to f32)
  let w1 = 0, awx1 = 0; // float64 Σw, Σ|w·x|
  for (let i = 0; i < n; i++) {
    const w = f32(x[xo + i] * x[xo + i]);
    ww[i] = w;
    wx[i] = w * x[xo + i];
    w1 += w;
    awx1 += Math.abs(wx[i]);
  }
  let iscale = f32(-nmax / max);
  let sumlx = 0, suml2 = 0;
  for (let i = 0; i < n; i++) {
    const l = nearestIntClamped(f32(iscale * x[xo + i]), -nmax, nmax - 1);
    L[lo + i] = l + nmax;
    sumlx = f32(sumlx + f32(wx[i] * l));
    suml2 = f32(suml2 + f32(f32(ww[i] * l) * l));
  }
  let scale = suml2 ? f32(sumlx / suml2) : 0;
  let best = f32(scale * sumlx);
  // The grids below run at growing |iscale| (is = 0 skipped), so a code only moves away from 0:
  // as in makeQkx2Quants, float64 sums of the codes follow the changes, and ggml's f32 sums run
  // only for grids that may win.
  Laux.fill(0, 0, n);
  next.fill(-Infinity, 0, n);
  let sLX = 0, sL2 = 0; // float64 Σw·x·l, Σw·l² of Laux (exact terms: 24 bits times ≤ 7 or ≤ 11)
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f32(-f32(nmax + f32(RDELTA * is)) / max);
    const aiscale = Math.abs(iscale);
    let changed = is === -9;
    for (let i = 0; i < n; i++) {
      if (aiscale < next[i]) continue;
      const l = nearestIntClamped(f32(iscale * x[xo + i]), -nmax, nmax - 1);
      const old = Laux[i];
      if (l !== old) {
        sLX += wx[i] * (l - old);
        sL2 += ww[i] * (l * l - old * old);
        Laux[i] = l; // NaN stays NaN, as in makeQkx2Quants
        changed = true;
      }
      // |f32(iscale·x)| ≥ |l| + 0.5 needs |iscale| ≥ (|l| + 0.5)/((1 + 2⁻²⁴)·|x|); clamped codes stay
      const ax = Math.abs(x[xo + i]);
      next[i] = l < nmax - 1 && l > -nmax && ax > 0 ? ((Math.abs(l) + 0.5) * (1 - 1e-6)) / ax : Infinity;
    }
    // The same codes as the last grid: the same sums and outcome, which left nothing to change.
    if (!changed) continue;
    // ggml's f32 sums are within 20·2⁻²⁴ (≤ 17 roundings) of these, relative to the sums of the
    // terms' magnitudes (|l| ≤ nmax): where even the largest sumlx² is below the least best·suml2
    // (best ≥ 0), its f32 comparison fails too.
    const eLX = 20 * U24 * nmax * awx1 + 1e-12 * nmax * awx1;
    const eL2 = 20 * U24 * sL2 + 1e-12 * nmax * nmax * w1;
    const hi = Math.abs(sLX) + eLX;
    if (best >= 0 && hi * hi * (1 + 1e-12) < best * (sL2 - eL2) * (1 - 1e-12)) continue;
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const l = Laux[i];
      sumlx = f32(sumlx + f32(wx[i] * l));
      suml2 = f32(suml2 + f32(f32(ww[i] * l) * l));
    }
    if (suml2 > 0 && f32(sumlx * sumlx) > f32(best * suml2)) {
      for (let i = 0; i < n; i++) L[lo + i] = Laux[i] + nmax;
      scale = f32(sumlx / suml2);
      best = f32(scale * sumlx);
    }
  }
  return scale;
}

/** quantize_row_q6_K_ref: per 16-value sub-block a signed scale by makeQxQuants, rounded to an i8 of the block's f16 d. */
function quantizeQ6_K(x: Float32Array, out: Uint8Array): void {
  const L = KQ_L, scales = KQ_SCALES;
  const nb = x.length / 256;
  for (let i = 0; i < nb; i++) {
    const xo = i * 256;
    const o = i * 210;
    let maxScale = 0, maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      scales[ib] = makeQxQuants(x, xo + 16 * ib, 16, 32, L, 16 * ib);
      if (Math.abs(scales[ib]) > maxAbsScale) {
        maxAbsScale = Math.abs(scales[ib]);
        maxScale = scales[ib];
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) continue; // an all-zero block (out starts zeroed): d = 0
    const iscale = f32(-128 / maxScale);
    writeF16(out, o + 208, f32(1 / iscale));
    const d16 = f16BitsToNumber(out[o + 208] | (out[o + 209] << 8));
    for (let ib = 0; ib < 16; ib++) out[o + 192 + ib] = Math.min(127, nearestInt(f32(iscale * scales[ib]))) & 0xff;
    for (let j = 0; j < 16; j++) {
      const d = f32(d16 * ((out[o + 192 + j] << 24) >> 24));
      if (!d) continue; // the sub-block keeps makeQxQuants' L, as ggml does
      for (let l = 0; l < 16; l++) L[16 * j + l] = nearestIntClamped(f32(x[xo + 16 * j + l] / d), -32, 31) + 32;
    }
    // per half of 128: ql byte l holds groups 0 (low) and 2 (high), byte l + 32 groups 1 and 3; qh byte l the 2 high bits of all four
    for (let n = 0; n < 2; n++) {
      for (let l = 0; l < 32; l++) {
        const q0 = L[128 * n + l], q1 = L[128 * n + 32 + l], q2 = L[128 * n + 64 + l], q3 = L[128 * n + 96 + l];
        out[o + 64 * n + l] = (q0 & 15) | ((q2 & 15) << 4);
        out[o + 64 * n + l + 32] = (q1 & 15) | ((q3 & 15) << 4);
        out[o + 128 + 32 * n + l] = (q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) | ((q3 >> 4) << 6);
      }
    }
  }
}

const QUANTIZE: Record<QuantType, (x: Float32Array, out: Uint8Array) => void> = { Q8_0: quantizeQ8_0, Q4_0: quantizeQ4_0, Q4_K: quantizeQ4_K, Q6_K: quantizeQ6_K };

/**
 * One tensor's values (rows of `rowLength`, row-major) → its blocks, as ggml's reference
 * quantizer writes them. Float types are encoded as their raw bytes.
 */
export function quantize(type: GgmlType, values: Float32Array, rowLength: number): Uint8Array {
  if (!isQuantType(type)) return float32ToBytes(type, values).slice();
  ggmlRowBytes(type, rowLength); // a row must be whole blocks
  if (values.length % rowLength) throw new Error(`${type}: ${values.length} values are not whole rows of ${rowLength}`);
  const out = new Uint8Array(ggmlByteSize(type, values.length));
  QUANTIZE[type](values, out);
  return out;
}

/** A tensor of a float checkpoint (safetensors F32/F16/BF16, torch shape) quantized on load. */
export function quantizeTensor(type: QuantType, t: Tensor): Uint8Array {
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') throw new Error(`quantize ${t.name}: dtype ${t.dtype} is not a float dtype (supported: F32, F16, BF16)`);
  const rowLength = t.shape[t.shape.length - 1] ?? 1;
  try {
    return quantize(type, bytesToFloat32(t.dtype, t.data), rowLength);
  } catch (e) {
    throw new Error(`quantize ${t.name} [${t.shape.join(', ')}] to ${type}: ${(e as Error).message}`, { cause: e });
  }
}

/** One tensor as ggml-typed bytes in HF layout (torch shape): quantized blocks or float bytes. */
export interface BlockTensor {
  /** HF name. */
  name: string;
  type: GgmlType;
  shape: number[];
  data: Uint8Array;
}

/**
 * Weights by HF name as typed blocks, for uploading quantized weights as they are: a GGUF
 * model's own blocks, or a float checkpoint quantized on load. readF32 gives the same values
 * dequantized (what the float64 reference and the f32 path see).
 */
export interface BlockTensorSource extends FloatTensorSource {
  info(name: string): { shape: number[]; type: GgmlType };
  readBlocks(name: string): Promise<BlockTensor>;
}

/**
 * A float checkpoint (safetensors F32/F16/BF16) seen as blocks: the tensors `select` picks
 * (default: the seven linear weights of each layer) quantized with ggml's reference quantizer, one tensor at a
 * time as it is read; the others keep their file's dtype. Rows must be whole blocks.
 */
export function quantizeOnLoad(store: TensorStore, type: QuantType, select: (name: string) => boolean = isLinearWeight): BlockTensorSource {
  const bad = store.names().filter((n) => select(n) && store.info(n).shape.at(-1)! % GGML_BLOCK[type].values);
  if (bad.length) throw new Error(`quantize to ${type}: rows must be multiples of ${GGML_BLOCK[type].values} values; ${bad.slice(0, 4).map((n) => `${n} [${store.info(n).shape.join(', ')}]`).join(', ')}${bad.length > 4 ? ', ...' : ''} ${bad.length > 1 ? 'are' : 'is'} not`);
  const typeOf = (name: string): GgmlType => {
    if (select(name)) return type;
    const d = store.info(name).dtype;
    if (d !== 'F32' && d !== 'F16' && d !== 'BF16') throw new Error(`${name}: dtype ${d} is not a float dtype (supported: F32, F16, BF16)`);
    return d;
  };
  const readBlocks = async (name: string): Promise<BlockTensor> => {
    const t = await store.read(name);
    const tt = typeOf(name);
    return { name, type: tt, shape: t.shape, data: isQuantType(tt) ? quantizeTensor(type, t) : t.data };
  };
  return {
    names: () => store.names(),
    info: (name) => ({ shape: store.info(name).shape.slice(), type: typeOf(name) }),
    readBlocks,
    readF32: async (name) => (select(name) ? dequantize(type, (await readBlocks(name)).data) : store.readF32(name)),
  };
}
