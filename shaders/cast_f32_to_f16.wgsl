// cast_f32_to_f16: narrow f32 to IEEE half, packed two per u32 (for f16-weight fast paths).
//   out16[i] = f16(inp[i]) for i < N; element 2w in the low half of out[w]; when N is odd the
//   high half of the last word is written as 0. WGSL rounds to one of the two nearest halves
//   (not necessarily to nearest-even) and leaves values beyond ±65504 undefined: use it for
//   weights, which are far inside that range.
// Shapes: out [ceil(N/2)] u32; inp [N] f32.
// Bindings: 0 out (rw), 1 inp (r), 2 params {N}
override WG: u32 = 256;

struct Params { N: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;
  let i = 2u * w;
  if (i >= p.N) { return; }
  let hi = select(0.0, inp[min(i + 1u, p.N - 1u)], i + 1u < p.N);
  out[w] = pack2x16float(vec2<f32>(inp[i], hi));
}
