// Tensor element types of safetensors files and conversions between float formats.
// Pure functions over typed arrays; little-endian data (as safetensors and GGUF specify).

/** Every dtype the safetensors format defines, with its size in bytes. */
export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
} as const;

export type Dtype = keyof typeof DTYPE_BYTES;

/** The float dtypes the engine can load as weights. */
export type FloatDtype = 'F32' | 'F16' | 'BF16';

export function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

export function dtypeBytes(dtype: Dtype): number {
  return DTYPE_BYTES[dtype];
}

export function isFloatDtype(d: Dtype): d is FloatDtype {
  return d === 'F32' || d === 'F16' || d === 'BF16';
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half bits → number (exact). */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal (and zero)
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** number → IEEE half bits, round to nearest even (as GPUs and numpy do); overflow gives ±Inf. */
export function numberToF16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large → Inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit bit, round to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m; // a carry into the exponent field is the correct smallest normal
  }
  const rest = mant & 0x1fff;
  let out = (e << 10) | (mant >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1))) out++; // carry may round up to Inf: correct
  return sign | out;
}

/** bfloat16 bits → number: the upper half of an f32. */
export function bf16BitsToNumber(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16;
  return f32Scratch[0];
}

/** number → bfloat16 bits, round to nearest even; NaN stays NaN. */
export function numberToBf16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0];
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff)) return ((b >>> 16) | 0x40) & 0xffff;
  const rounded = b + 0x7fff + ((b >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** Copies bytes into a fresh ArrayBuffer when they are not aligned for the element size. */
function aligned(bytes: Uint8Array, align: number): Uint8Array {
  return bytes.byteOffset % align === 0 ? bytes : bytes.slice();
}

/** Raw little-endian bytes of a float tensor → Float32Array (a new array; F32 input is copied). */
export function bytesToFloat32(dtype: Dtype, bytes: Uint8Array): Float32Array {
  const size = DTYPE_BYTES[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new Error(`bytesToFloat32: ${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  const n = bytes.byteLength / size;
  switch (dtype) {
    case 'F32': {
      const b = aligned(bytes, 4);
      return new Float32Array(b.buffer, b.byteOffset, n).slice();
    }
    case 'F16': {
      const b = aligned(bytes, 2);
      const h = new Uint16Array(b.buffer, b.byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16BitsToNumber(h[i]);
      return out;
    }
    case 'BF16': {
      const b = aligned(bytes, 2);
      const h = new Uint16Array(b.buffer, b.byteOffset, n);
      const out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = h[i] << 16;
      return out;
    }
    case 'F64': {
      const b = aligned(bytes, 8);
      return Float32Array.from(new Float64Array(b.buffer, b.byteOffset, n));
    }
    default:
      throw new Error(`bytesToFloat32: ${dtype} is not a float dtype (supported: F32, F16, BF16, F64)`);
  }
}

/** Float values → f16 bits (for the f16 GPU path and F16 file output). */
export function float32ToF16Bits(x: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = numberToF16Bits(x[i]);
  return out;
}

/** Float values → bfloat16 bits. */
export function float32ToBf16Bits(x: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = numberToBf16Bits(x[i]);
  return out;
}

/** Float values → raw little-endian bytes of the given float dtype. */
export function float32ToBytes(dtype: FloatDtype, x: Float32Array): Uint8Array {
  switch (dtype) {
    case 'F32':
      return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    case 'F16': {
      const h = float32ToF16Bits(x);
      return new Uint8Array(h.buffer);
    }
    case 'BF16': {
      const h = float32ToBf16Bits(x);
      return new Uint8Array(h.buffer);
    }
  }
}

/** Name of the HF `torch_dtype` string for a dtype, and back. */
/** config.json's torch_dtype for each dtype (dtypeFromTorch's inverse). */
export const TORCH_DTYPE: Record<FloatDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

export function dtypeFromTorch(torchDtype: string): FloatDtype | null {
  switch (torchDtype) {
    case 'float32':
      return 'F32';
    case 'float16':
      return 'F16';
    case 'bfloat16':
      return 'BF16';
    default:
      return null;
  }
}
