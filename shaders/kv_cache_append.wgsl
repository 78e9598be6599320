// kv_cache_append: scatters n new tokens' keys and values into one layer's KV cache, token
// i to cache row rows[i] (a prompt after its prefill: rows seq·maxT + 0..n-1; batched decode:
// one token per sequence, row seq·maxT + pos of that sequence).
//   kCache[rows[i], kh, d] = k[i, kh, d];  vCache[rows[i], kh, d] = v[i, kh, d]
// Shapes: kCache, vCache [capacity, KVH, D] (= [B, maxT, KVH, D] for B sequences);
// k, v [n, KVH, D]; rows u32 [n]. Rows >= capacity are skipped (never written out of range).
// Bindings: 0 kCache (rw), 1 vCache (rw), 2 k, 3 v, 4 rows, 5 params {n, KVH, D, capacity}
// Grid: one invocation per element of k, 2-D so n·KVH·D may exceed 65535·WG.
override WG: u32 = 256;

struct Params { n: u32, KVH: u32, D: u32, capacity: u32 }

@group(0) @binding(0) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(1) var<storage, read_write> vCache: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> rows: array<u32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let row = p.KVH * p.D;
  if (i >= p.n * row) { return; }
  let dst = rows[i / row];
  if (dst >= p.capacity) { return; }
  kCache[dst * row + i % row] = k[i];
  vCache[dst * row + i % row] = v[i];
}
