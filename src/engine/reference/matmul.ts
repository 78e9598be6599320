// float64 reference of the frozen-weight linear layer, same argument order as the launchers
// in gpu/kernels/matmul.ts. W is row-major [OC, C] (Hugging Face layout).

/** out[BT, OC] = inp[BT, C] · W[OC, C]ᵀ + bias[OC] (bias may be null). */
export function matmulForward(
  out: Float64Array,
  inp: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  BT: number,
  C: number,
  OC: number,
): void {
  for (let t = 0; t < BT; t++) {
    for (let o = 0; o < OC; o++) {
      let s = bias ? bias[o] : 0;
      for (let c = 0; c < C; c++) s += inp[t * C + c] * weight[o * C + c];
      out[t * OC + o] = s;
    }
  }
}

/** dinp[BT, C] (+)= dout[BT, OC] · W[OC, C]; W is frozen, so there is no dW. */
export function matmulBackward(
  dinp: Float64Array,
  dout: ArrayLike<number>,
  weight: ArrayLike<number>,
  BT: number,
  C: number,
  OC: number,
  opts: { accumulate: boolean },
): void {
  for (let t = 0; t < BT; t++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let o = 0; o < OC; o++) s += dout[t * OC + o] * weight[o * C + c];
      dinp[t * C + c] = (opts.accumulate ? dinp[t * C + c] : 0) + s;
    }
  }
}
