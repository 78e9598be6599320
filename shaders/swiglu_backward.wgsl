// swiglu_backward: gradients of out = act(gate) · up (see swiglu_forward; act(g) = g · s,
// s = sigmoid(z(g)), ACT, z and gatedGrads from lib/gated_act.wgsl): with z' = dz/dg,
//   dgate[i] (+)= dout[i] · up[i] · s · (1 + gate[i] · (1 − s) · z')
//   dup[i]   (+)= dout[i] · gate[i] · s
// accumulating (llm.c style) when p.accumulate is 1, overwriting when 0.
// Shapes: dgate, dup, dout, gate, up [BT, F] f32, flattened to N = BT·F elements.
// Bindings: 0 dgate (rw), 1 dup (rw), 2 dout (r), 3 gate (r), 4 up (r), 5 params {N, accumulate}
override WG: u32 = 256;

struct Params { N: u32, accumulate: u32 }

@group(0) @binding(0) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(1) var<storage, read_write> dup: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> gate: array<f32>;
@group(0) @binding(4) var<storage, read> up: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  let gr = gatedGrads(dout[i], gate[i], up[i]);
  // select, not multiply-by-flag: a stale NaN in an overwritten buffer must not leak through.
  dgate[i] = select(0.0, dgate[i], p.accumulate != 0u) + gr.x;
  dup[i] = select(0.0, dup[i], p.accumulate != 0u) + gr.y;
}
