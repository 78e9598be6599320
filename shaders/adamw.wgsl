// adamw: one AdamW step (decoupled weight decay, as torch.optim.AdamW) over a flat buffer:
//   g = grad[i] · gradScale[0]                      (the clip factor, 1 when not clipping)
//   param[i] ← param[i] · (1 − lr·weightDecay)
//   m[i] ← beta1·m[i] + (1 − beta1)·g;  v[i] ← beta2·v[i] + (1 − beta2)·g²
// (1 − beta1 and 1 − beta2 come from the CPU in float64: 1 − f32(0.999) is 1.3e-5 off)
//   param[i] ← param[i] − lr · (m[i] / bc1) / (sqrt(v[i] / bc2) + eps)
// with bc1 = 1 − beta1^t, bc2 = 1 − beta2^t computed on the CPU for step t (1-based).
// When gradScale[1] ≠ 0 (the non-finite flag from global_norm_finalize) nothing changes.
// Shapes: param, m, v, grad [N] f32 (all trainable tensors packed); gradScale [≥2] f32.
// Bindings: 0 param (rw), 1 m (rw), 2 v (rw), 3 grad (r), 4 gradScale (r),
//           5 params {N, lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps, weightDecay, bc1, bc2}
override WG: u32 = 256;

struct Params { N: u32, lr: f32, beta1: f32, beta2: f32, oneMinusBeta1: f32, oneMinusBeta2: f32, eps: f32, weightDecay: f32, bc1: f32, bc2: f32 }

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read_write> m: array<f32>;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read> gradScale: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N || gradScale[1] != 0.0) { return; }
  let g = grad[i] * gradScale[0];
  let mi = p.beta1 * m[i] + p.oneMinusBeta1 * g;
  let vi = p.beta2 * v[i] + p.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let decayed = param[i] * (1.0 - p.lr * p.weightDecay);
  param[i] = decayed - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
}
