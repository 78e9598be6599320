// residual_forward: out[i] = inp1[i] + inp2[i]  (element-wise residual add)
// Shapes: out, inp1, inp2 are [N] f32 (N = B·T·C).
// Bindings: 0 out (rw), 1 inp1 (r), 2 inp2 (r), 3 params {N}
override WG: u32 = 256;

struct Params { N: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> inp1: array<f32>;
@group(0) @binding(2) var<storage, read> inp2: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // 2D grid so N may exceed 65535 workgroups in x.
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  out[i] = inp1[i] + inp2[i];
}
