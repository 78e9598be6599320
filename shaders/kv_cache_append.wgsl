// kv_cache_append: copies n new tokens' keys and values into one layer's KV cache at rows
// pos..pos+n-1 (n = 1 while decoding, n = prompt length after a prefill).
//   kCache[pos + i, kh, d] = k[i, kh, d];  vCache[pos + i, kh, d] = v[i, kh, d]
// Shapes: kCache, vCache [maxT, KVH, D]; k, v [n, KVH, D]  (the launcher checks pos + n <= maxT).
// Bindings: 0 kCache (rw), 1 vCache (rw), 2 k, 3 v, 4 params {pos, n, KVH, D}
// Grid: one invocation per element of k, 2-D so n·KVH·D may exceed 65535·WG.
override WG: u32 = 256;

struct Params { pos: u32, n: u32, KVH: u32, D: u32 }

@group(0) @binding(0) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(1) var<storage, read_write> vCache: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let row = p.KVH * p.D;
  if (i >= p.n * row) { return; }
  kCache[p.pos * row + i] = k[i];
  vCache[p.pos * row + i] = v[i];
}
