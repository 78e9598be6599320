// float64 reference of the gated MLP activation: out = act(gate) · up, element-wise, with
// act = silu (SwiGLU: Llama, Qwen) or gelu_tanh (GeGLU: Gemma's gelu_pytorch_tanh).
// Written in the textbook tanh form; the GPU kernel uses the equivalent sigmoid form.

export type GatedActivation = 'silu' | 'gelu_tanh';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** act(g) and act'(g). */
function activation(kind: GatedActivation, g: number): [number, number] {
  if (kind === 'silu') {
    const s = sigmoid(g);
    return [g * s, s * (1 + g * (1 - s))];
  }
  const th = Math.tanh(GELU_K * (g + GELU_C * g * g * g));
  const du = GELU_K * (1 + 3 * GELU_C * g * g);
  return [0.5 * g * (1 + th), 0.5 * (1 + th) + 0.5 * g * (1 - th * th) * du];
}

export function swigluForward(out: Float64Array, gate: ArrayLike<number>, up: ArrayLike<number>, N: number, act: GatedActivation = 'silu'): void {
  for (let i = 0; i < N; i++) out[i] = activation(act, gate[i])[0] * up[i];
}

/** dgate += ∂L/∂gate, dup += ∂L/∂up (accumulates, llm.c style). */
export function swigluBackward(
  dgate: Float64Array,
  dup: Float64Array,
  dout: ArrayLike<number>,
  gate: ArrayLike<number>,
  up: ArrayLike<number>,
  N: number,
  act: GatedActivation = 'silu',
): void {
  for (let i = 0; i < N; i++) {
    const [a, da] = activation(act, gate[i]);
    dgate[i] += dout[i] * up[i] * da;
    dup[i] += dout[i] * a;
  }
}
