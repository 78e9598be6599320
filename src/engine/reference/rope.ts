// float64 reference of RoPE in Hugging Face's rotate_half layout: for head dim D, element i
// (< D/2) pairs with i + D/2 and both rotate by the angle pos·invFreq[i]. The angle is rounded
// to f32, as transformers computes it (inv_freq @ position_ids in float32); the rest is float64.

import { type Llama3RopeScaling, llama3ScaledInvFreq } from '../model/config';

/**
 * RoPE inverse frequencies [D/2], with the llama3 rope_scaling variant or a linear factor
 * (Gemma's global layers: inv_freq / factor), as in HF transformers, in float64.
 */
export function ropeInvFreq(cfg: { headDim: number; ropeTheta: number; ropeScaling?: Llama3RopeScaling | null; ropeLinearFactor?: number }): Float64Array {
  const D = cfg.headDim;
  const inv = new Float64Array(D / 2);
  const factor = cfg.ropeLinearFactor ?? 1;
  for (let j = 0; j < D / 2; j++) inv[j] = 1 / Math.pow(cfg.ropeTheta, (2 * j) / D) / factor;
  const s = cfg.ropeScaling;
  if (!s) return inv;
  if (factor !== 1) throw new Error('rope: llama3 scaling and a linear factor do not combine');
  if (s.ropeType !== 'llama3') throw new Error(`rope_scaling type ${String(s.ropeType)} is not supported (only llama3)`);
  return inv.map((x) => llama3ScaledInvFreq(x, s));
}

/** out = rotation of inp by sign·angle per pair; the backward is the transpose, i.e. sign −1. */
function rotate(out: Float64Array, inp: ArrayLike<number>, invFreq: ArrayLike<number>, pos: ArrayLike<number>, BT: number, NH: number, D: number, sign: 1 | -1): void {
  const half = D / 2;
  for (let bt = 0; bt < BT; bt++) {
    for (let h = 0; h < NH; h++) {
      const base = (bt * NH + h) * D;
      for (let i = 0; i < half; i++) {
        const a = Math.fround(pos[bt] * invFreq[i]);
        const c = Math.cos(a);
        const s = sign * Math.sin(a);
        const x1 = inp[base + i];
        const x2 = inp[base + i + half];
        out[base + i] = x1 * c - x2 * s;
        out[base + i + half] = x2 * c + x1 * s;
      }
    }
  }
}

/** out[BT, NH, D] = rotate(inp) (out may be inp). */
export function ropeForward(out: Float64Array, inp: ArrayLike<number>, invFreq: ArrayLike<number>, pos: ArrayLike<number>, BT: number, NH: number, D: number): void {
  rotate(out, inp, invFreq, pos, BT, NH, D, 1);
}

/** dinp = rotateᵀ(dout) (overwrites; dinp may be dout). */
export function ropeBackward(dinp: Float64Array, dout: ArrayLike<number>, invFreq: ArrayLike<number>, pos: ArrayLike<number>, BT: number, NH: number, D: number): void {
  rotate(dinp, dout, invFreq, pos, BT, NH, D, -1);
}
