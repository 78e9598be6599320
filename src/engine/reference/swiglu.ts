// float64 reference of the SwiGLU MLP activation: out = silu(gate) · up, element-wise.

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function swigluForward(out: Float64Array, gate: ArrayLike<number>, up: ArrayLike<number>, N: number): void {
  for (let i = 0; i < N; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

/** dgate += ∂L/∂gate, dup += ∂L/∂up (accumulates, llm.c style). */
export function swigluBackward(
  dgate: Float64Array,
  dup: Float64Array,
  dout: ArrayLike<number>,
  gate: ArrayLike<number>,
  up: ArrayLike<number>,
  N: number,
): void {
  for (let i = 0; i < N; i++) {
    const g = gate[i];
    const s = sigmoid(g);
    dgate[i] += dout[i] * up[i] * s * (1 + g * (1 - s));
    dup[i] += dout[i] * g * s;
  }
}
