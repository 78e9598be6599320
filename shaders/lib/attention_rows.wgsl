// lib/attention_rows: what the row kernels (attention_forward_rows, attention_backward_dq_rows,
// attention_backward_dkdv_rows: two rows per invocation, D <= 64, D % 4 == 0) share: the private
// row length and the reductions of their vec4 dot-product accumulators. The kernel declares
// `override DMAX`.
const D4MAX: u32 = 16u;   // private row length in vec4: D <= 64
// Loops run to the constant DMAX/4 (rows zero-padded past D) so the compiler can unroll them
// and keep the private rows in registers.
override DM4: u32 = DMAX / 4u;

// Sum of a vec4 dot-product accumulator, in the order every row kernel uses.
fn hsum4(x: vec4<f32>) -> f32 {
  return (x.x + x.y) + (x.z + x.w);
}

// (P, dS) of one (query, key) pair in the backward row kernels, from the accumulators of
// q·k·scale (sc) and dout·v (dp) and the query's stats st = (lse, Dl):
// P = exp(q·k·scale - lse) (0 if masked), dS = P · (dout·v - Dl).
fn rowProbGrad(sc: vec4<f32>, dp: vec4<f32>, st: vec2<f32>, visible: bool) -> vec2<f32> {
  let pr = select(0.0, exp(hsum4(sc) - st.x), visible);
  return vec2<f32>(pr, pr * (hsum4(dp) - st.y));
}
