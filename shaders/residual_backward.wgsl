// residual_backward: the residual add's gradient flows unchanged into both inputs (llm.c):
//   dinp1[i] += dout[i];  dinp2[i] += dout[i]
// Shapes: dinp1, dinp2, dout [N] f32 (N = B·T·C).
// Bindings: 0 dinp1 (rw), 1 dinp2 (rw), 2 dout (r), 3 params {N}
override WG: u32 = 256;

struct Params { N: u32 }

@group(0) @binding(0) var<storage, read_write> dinp1: array<f32>;
@group(0) @binding(1) var<storage, read_write> dinp2: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  let d = dout[i];
  dinp1[i] = dinp1[i] + d;
  dinp2[i] = dinp2[i] + d;
}
