// float64 reference of RoPE in Hugging Face's rotate_half layout: for head dim D, element i
// (< D/2) pairs with i + D/2 and both rotate by the angle pos·invFreq[i]. The angle is rounded
// to f32, as transformers computes it (inv_freq @ position_ids in float32); the rest is float64.

function angle(p: number, invFreq: number): number {
  return Math.fround(p * invFreq);
}

/** out[BT, NH, D] = rotate(inp) (out may be inp). */
export function ropeForward(
  out: Float64Array,
  inp: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  pos: ArrayLike<number>,
  BT: number,
  NH: number,
  D: number,
): void {
  const half = D / 2;
  for (let bt = 0; bt < BT; bt++) {
    for (let h = 0; h < NH; h++) {
      const base = (bt * NH + h) * D;
      for (let i = 0; i < half; i++) {
        const a = angle(pos[bt], invFreq[i]);
        const c = Math.cos(a);
        const s = Math.sin(a);
        const x1 = inp[base + i];
        const x2 = inp[base + i + half];
        out[base + i] = x1 * c - x2 * s;
        out[base + i + half] = x2 * c + x1 * s;
      }
    }
  }
}

/** dinp = rotateᵀ(dout) (overwrites; dinp may be dout). */
export function ropeBackward(
  dinp: Float64Array,
  dout: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  pos: ArrayLike<number>,
  BT: number,
  NH: number,
  D: number,
): void {
  const half = D / 2;
  for (let bt = 0; bt < BT; bt++) {
    for (let h = 0; h < NH; h++) {
      const base = (bt * NH + h) * D;
      for (let i = 0; i < half; i++) {
        const a = angle(pos[bt], invFreq[i]);
        const c = Math.cos(a);
        const s = Math.sin(a);
        const d1 = dout[base + i];
        const d2 = dout[base + i + half];
        dinp[base + i] = d1 * c + d2 * s;
        dinp[base + i + half] = d2 * c - d1 * s;
      }
    }
  }
}
