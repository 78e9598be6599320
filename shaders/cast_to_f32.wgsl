// cast_to_f32: widen 16-bit floats to f32 on the GPU (weights arrive as BF16/F16 safetensors).
// Entry points: bf16_to_f32 (bfloat16: the upper half of an f32, exact) and f16_to_f32
// (IEEE half via unpack2x16float, exact; needs no shader-f16 feature).
//   out[i] = float(inp16[i]) for i < N, inp16 packed two per u32, element 2w in the low half.
// Shapes: out [N] f32; inp [ceil(N/2)] u32.
// Bindings: 0 out (rw), 1 inp (r), 2 params {N}
override WG: u32 = 256;

struct Params { N: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

fn wordIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }

@compute @workgroup_size(WG)
fn bf16_to_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = wordIndex(gid, nwg);
  let i = 2u * w;
  if (i >= p.N) { return; }
  let word = inp[w];
  out[i] = bitcast<f32>(word << 16u);
  if (i + 1u < p.N) { out[i + 1u] = bitcast<f32>(word & 0xffff0000u); }
}

@compute @workgroup_size(WG)
fn f16_to_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = wordIndex(gid, nwg);
  let i = 2u * w;
  if (i >= p.N) { return; }
  let v = unpack2x16float(inp[w]);
  out[i] = v.x;
  if (i + 1u < p.N) { out[i + 1u] = v.y; }
}
