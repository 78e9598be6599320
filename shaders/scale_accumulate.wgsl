// scale_accumulate: dst[i] += alpha · src[i]   (generic in-place accumulate, e.g. a gradient
// contribution into a shared gradient buffer; alpha = 1 for a plain add)
// Shapes: dst, src [N] f32.
// Bindings: 0 dst (rw), 1 src (r), 2 params {N, alpha}
override WG: u32 = 256;

struct Params { N: u32, alpha: f32 }

@group(0) @binding(0) var<storage, read_write> dst: array<f32>;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  dst[i] = dst[i] + p.alpha * src[i];
}
