// swiglu_backward_inplace: swiglu_backward's overwrite mode with the gradients written over
// its inputs: gate[i] ← dgate[i], up[i] ← dup[i] (gatedGrads from lib/gated_act.wgsl, the same
// formula, so the values are identical; only a zero's sign may differ, as the overwrite mode's
// 0 + dg may or may not be folded by the compiler). Training's MLP backward reads gate and up only
// here, so the two [BT, F] gradient buffers need no storage of their own.
// Shapes: gate, up, dout [BT, F] f32, flattened to N = BT·F elements.
// Bindings: 0 gate → dgate (rw), 1 up → dup (rw), 2 dout (r), 3 params {N}
override WG: u32 = 256;

struct Params { N: u32 }

@group(0) @binding(0) var<storage, read_write> gate: array<f32>;
@group(0) @binding(1) var<storage, read_write> up: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  let gr = gatedGrads(dout[i], gate[i], up[i]);
  gate[i] = gr.x;
  up[i] = gr.y;
}
