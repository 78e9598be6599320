// float64 reference: out = inp1 + inp2.
export function residualForward(out: Float64Array, inp1: ArrayLike<number>, inp2: ArrayLike<number>, N: number): void {
  for (let i = 0; i < N; i++) out[i] = inp1[i] + inp2[i];
}

/** The residual's backward is the identity into both inputs: dinp1 += dout, dinp2 += dout. */
export function residualBackward(dinp1: Float64Array, dinp2: Float64Array, dout: ArrayLike<number>, N: number): void {
  for (let i = 0; i < N; i++) {
    dinp1[i] += dout[i];
    dinp2[i] += dout[i];
  }
}

/** dst += alpha · src (generic accumulate; added with the GPU addInPlace). */
export function addInPlace(dst: Float64Array, src: ArrayLike<number>, N: number, alpha = 1): void {
  for (let i = 0; i < N; i++) dst[i] += alpha * src[i];
}
