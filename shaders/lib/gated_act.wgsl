// lib/gated_act: the gate activation of the gated MLP kernels (swiglu_forward/_backward),
// written act(g) = g · sigmoid(z(g)). ACT selects z (a pipeline constant, folded away):
//   0 SwiGLU:   z = g                                  (silu)
//   1 GeGLU:    z = 2·√(2/π)·(g + 0.044715·g³)         (gelu_pytorch_tanh, as sigmoid(2u) = (1 + tanh u)/2)
override ACT: u32 = 0u;
const GELU_K2: f32 = 1.5957691216057308; // 2·√(2/π)
const GELU_C: f32 = 0.044715;

fn gateArg(g: f32) -> f32 {
  if (ACT == 1u) { return GELU_K2 * (g + GELU_C * g * g * g); }
  return g;
}

// (1 − s)·dz/dg, with s = sigmoid(z) = 1/(1 + e), e = exp(−z). GeGLU's slope grows like g², so
// 1 − s is taken as e·s where s is near 1 (no cancellation: at g = 5 the difference 1 − s is
// below one ulp of 1); SwiGLU keeps its plain 1 − s.
fn gateSlopeTerm(g: f32, s: f32, e: f32) -> f32 {
  if (ACT == 1u) { return select(1.0 - s, e * s, e < 1.0) * GELU_K2 * (1.0 + 3.0 * GELU_C * g * g); }
  return 1.0 - s;
}

// (dgate, dup) of out = act(g) · u for upstream gradient d, the one formula of
// swiglu_backward and its in-place variant:
//   dgate = d · u · s · (1 + g · (1 − s) · z'),  dup = d · g · s
fn gatedGrads(d: f32, g: f32, u: f32) -> vec2<f32> {
  let e = exp(-gateArg(g));
  let s = 1.0 / (1.0 + e);
  return vec2<f32>(d * u * s * (1.0 + g * gateSlopeTerm(g, s, e)), d * g * s);
}
