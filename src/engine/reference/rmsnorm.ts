// float64 reference of RMSNorm: out = x / sqrt(mean(x²) + eps) · (offset + weight), per row of C.
// offset is 0 (Llama, Qwen) or 1 (Gemma, whose weights are stored as offsets from 1).

/** out[BT·C], rstd[BT] are written; same argument order as the GPU launcher. */
export function rmsnormForward(
  out: Float64Array,
  rstd: Float64Array,
  inp: ArrayLike<number>,
  weight: ArrayLike<number>,
  BT: number,
  C: number,
  eps: number,
  offset = 0,
): void {
  for (let r = 0; r < BT; r++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += inp[r * C + c] ** 2;
    const s = 1 / Math.sqrt(ss / C + eps);
    rstd[r] = s;
    for (let c = 0; c < C; c++) out[r * C + c] = inp[r * C + c] * s * (offset + weight[c]);
  }
}

/** dinp += ∂L/∂inp given dout = ∂L/∂out (weight frozen: no dweight). */
export function rmsnormBackward(
  dinp: Float64Array,
  dout: ArrayLike<number>,
  inp: ArrayLike<number>,
  weight: ArrayLike<number>,
  rstd: ArrayLike<number>,
  BT: number,
  C: number,
  offset = 0,
): void {
  for (let r = 0; r < BT; r++) {
    const s = rstd[r];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += (offset + weight[c]) * dout[r * C + c] * inp[r * C + c];
    const k = (s * s * s * dot) / C;
    for (let c = 0; c < C; c++) dinp[r * C + c] += s * (offset + weight[c]) * dout[r * C + c] - k * inp[r * C + c];
  }
}
