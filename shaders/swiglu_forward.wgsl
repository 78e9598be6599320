// swiglu_forward: out[i] = silu(gate[i]) · up[i],  silu(g) = g · sigmoid(g)
// Shapes: out, gate, up [BT, F] f32, flattened to N = BT·F elements.
// Bindings: 0 out (rw), 1 gate (r), 2 up (r), 3 params {N}
override WG: u32 = 256;

struct Params { N: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  let g = gate[i];
  // exp(-g) overflows to +inf for g < -88: the sigmoid is then 0 and silu -0, as it should be.
  out[i] = g / (1.0 + exp(-g)) * up[i];
}
