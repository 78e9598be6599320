// Test helper (not shipped): Q4_K and Q6_K encoders for writing test GGUF files. They are
// NOT ggml's quantizers (no make_qkx2_quants / rmse search): plain min/max and absmax
// scales, rounded to the formats' 6-/8-bit sub-block scales. Any valid encoding serves the
// tests, which check what matters: that dequantization reads the blocks exactly as ggml does.
import { numberToF16Bits, f16BitsToNumber } from './dtype';
import { collectChunks, ggufChunks, readGguf } from './gguf-format';
import type { GgmlType } from './quant';
import { memorySource } from './safetensors';

const f16 = (x: number) => f16BitsToNumber(numberToF16Bits(x));
const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, x));

function putF16(out: Uint8Array, o: number, x: number): number {
  const h = numberToF16Bits(x);
  out[o] = h & 0xff;
  out[o + 1] = h >> 8;
  return f16BitsToNumber(h);
}

/** Q4_K's 12 scale bytes for 8 six-bit scales and mins (sub-blocks 4–7 split over low nibbles and top bits). */
export function packQ4KScales(sc: readonly number[], m: readonly number[]): Uint8Array {
  const s = new Uint8Array(12);
  for (let j = 0; j < 4; j++) {
    s[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
    s[j + 4] = (m[j] & 63) | ((m[j + 4] >> 4) << 6);
    s[j + 8] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4);
  }
  return s;
}

/** Values (a multiple of 256) → Q4_K blocks: per 32-value sub-block, value ≈ d·sc·q − dmin·m. */
export function encodeQ4K(x: ArrayLike<number>): Uint8Array {
  const nb = x.length / 256;
  if (!Number.isInteger(nb)) throw new Error('encodeQ4K: length must be a multiple of 256');
  const out = new Uint8Array(nb * 144);
  for (let i = 0; i < nb; i++) {
    const scale: number[] = [], mins: number[] = [];
    for (let s = 0; s < 8; s++) {
      let lo = 0, hi = 0;
      for (let l = 0; l < 32; l++) {
        const v = x[i * 256 + s * 32 + l];
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      scale.push((hi - lo) / 15);
      mins.push(-lo);
    }
    const o = i * 144;
    const d = putF16(out, o, Math.max(...scale) / 63);
    const dmin = putF16(out, o + 2, Math.max(...mins) / 63);
    const sc = scale.map((v) => (d ? clamp(Math.round(v / d), 0, 63) : 0));
    const m = mins.map((v) => (dmin ? clamp(Math.round(v / dmin), 0, 63) : 0));
    out.set(packQ4KScales(sc, m), o + 4);
    for (let s = 0; s < 8; s++) {
      const step = d * sc[s];
      for (let l = 0; l < 32; l++) {
        const q = step ? clamp(Math.round((x[i * 256 + s * 32 + l] + dmin * m[s]) / step), 0, 15) : 0;
        const byte = o + 16 + (s >> 1) * 32 + l; // sub-blocks 2k and 2k+1 share 32 bytes: low, then high nibbles
        out[byte] |= s & 1 ? q << 4 : q;
      }
    }
  }
  return out;
}

/** Values (a multiple of 256) → Q6_K blocks: per 16-value sub-block, value ≈ d·sc·(q − 32). */
export function encodeQ6K(x: ArrayLike<number>): Uint8Array {
  const nb = x.length / 256;
  if (!Number.isInteger(nb)) throw new Error('encodeQ6K: length must be a multiple of 256');
  const out = new Uint8Array(nb * 210);
  for (let i = 0; i < nb; i++) {
    const o = i * 210;
    const scale: number[] = [];
    for (let s = 0; s < 16; s++) {
      let amax = 0;
      for (let l = 0; l < 16; l++) amax = Math.max(amax, Math.abs(x[i * 256 + s * 16 + l]));
      scale.push(amax / 31);
    }
    const d = putF16(out, o + 208, Math.max(...scale) / 127);
    const sc = scale.map((v) => (d ? clamp(Math.round(v / d), 0, 127) : 0));
    for (let s = 0; s < 16; s++) out[o + 192 + s] = sc[s];
    for (let e = 0; e < 256; e++) {
      const step = f16(d) * sc[e >> 4];
      const q = (step ? clamp(Math.round(x[i * 256 + e] / step), -32, 31) : 0) + 32;
      // element e: half n, group g of 32, lane l; ql holds 4 low bits, qh 2 high bits
      const n = e >> 7, g = (e >> 5) & 3, l = e & 31;
      out[o + n * 64 + (g & 1) * 32 + l] |= g < 2 ? q & 15 : (q & 15) << 4;
      out[o + 128 + n * 32 + l] |= (q >> 4) << (2 * g);
    }
  }
  return out;
}

/**
 * A GGUF with its 2-D tensors (or those `only` names) re-encoded as `type` (norms, biases and
 * rope factors stay F32, as llama.cpp requires): ggml's reference quantizer for Q8_0/Q4_0
 * (through the writer), the encoders above for Q4_K/Q6_K. KVs and tensor order are kept.
 */
export async function requantizeGguf(bytes: Uint8Array, type: GgmlType, only?: readonly string[]): Promise<Uint8Array> {
  const g = await readGguf(memorySource(bytes, 'input.gguf'));
  const pick = (name: string, shape: number[]) => shape.length === 2 && (!only || only.includes(name));
  const specs = g.tensors.map((t) => ({ name: t.name, shape: t.shape, type: pick(t.name, t.shape) ? type : ('F32' as const) }));
  return collectChunks(
    ggufChunks([...g.kv.values()], specs, async (s) => {
      const x = await g.readF32(s.name);
      if (s.type === 'Q4_K') return encodeQ4K(x);
      if (s.type === 'Q6_K') return encodeQ6K(x);
      return x;
    }),
  );
}
