// attention_decode: first pass of one-token attention over a KV cache, for n query rows at
// once (batched decode: one row per sequence), split over the cache length (split-K) so long
// contexts still fill the GPU. Query row i sits at cache row r = rows[i] of sequence
// seq = r / maxT, position pos = r % maxT; it attends to the cache rows seq·maxT + first..pos,
// first = max(0, pos + 1 − window) (a sliding window of `window` keys; maxT for full attention).
// Workgroup (c, h, i) scores keys s in [max(c·CH, first), min((c+1)·CH, pos+1)) and writes its partial:
//   m = max_s q·k[s]·scale,  l = Σ_s exp(q·k[s]·scale - m),  o[d] = Σ_s exp(..- m)·v[s, d]
// A chunk past its row's pos (rows of different lengths share nChunks) or before its window
// holds no key and writes m = -1e30, l = 0, o = 0: the combine adds exact zeros for it.
// Shapes: part [n, H, nChunks, D + 2] (o[0..D), m, l); q [n, H, D]; kCache, vCache
// [B·maxT, KVH, D]; rows u32 [n]. kh = h / (H/KVH), scale = 1/sqrt(D). Each row's own k/v
// must already be in the cache (kv_cache_append first).
// Bindings: 0 part (rw), 1 q, 2 kCache, 3 vCache, 4 rows, 5 params {nChunks, H, KVH, D, scale, maxT, window}
// The launcher prepends lib/window.wgsl (inWindow, windowStart).
// Grid: (nChunks, H, n). Workgroup memory: DMAX + CH floats.
override CH: u32 = 64;     // keys per chunk = invocations per workgroup (one score each)
override DMAX: u32 = 64;
const NEG: f32 = -1e30;

struct Params { nChunks: u32, H: u32, KVH: u32, D: u32, scale: f32, maxT: u32, window: u32 }

@group(0) @binding(0) var<storage, read_write> part: array<f32>;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kCache: array<f32>;
@group(0) @binding(3) var<storage, read> vCache: array<f32>;
@group(0) @binding(4) var<storage, read> rows: array<u32>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> qs: array<f32, DMAX>;
var<workgroup> pr: array<f32, CH>;

@compute @workgroup_size(CH)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let D = p.D; let KVH = p.KVH;
  let c = wid.x;
  let h = wid.y;
  let i = wid.z;
  let kh = h / (p.H / KVH);
  let pos = rows[i] % p.maxT;
  let seq0 = rows[i] - pos; // first cache row of this row's sequence
  let first = windowStart(pos, p.window);
  for (var d = tid; d < D; d += CH) { qs[d] = q[(i * p.H + h) * D + d]; }
  workgroupBarrier();
  let s = c * CH + tid;
  var sc = NEG;
  let visible = inWindow(pos, s, p.window);
  if (visible) {
    var dot = 0.0;
    for (var d = 0u; d < D; d++) { dot += qs[d] * kCache[((seq0 + s) * KVH + kh) * D + d]; }
    sc = dot * p.scale;
  }
  pr[tid] = sc;
  workgroupBarrier();
  // Every invocation reads all CH scores: no extra barriers for a reduction tree.
  var m = NEG;
  for (var j = 0u; j < CH; j++) { m = max(m, pr[j]); }
  workgroupBarrier();
  pr[tid] = select(0.0, exp(sc - m), visible);
  workgroupBarrier();
  let base = ((i * p.H + h) * p.nChunks + c) * (D + 2u);
  let nKeys = select(0u, min(CH, pos + 1u - c * CH), c * CH <= pos);
  let j0 = min(select(0u, first - c * CH, first > c * CH), nKeys); // keys [j0, nKeys) of the chunk are visible
  for (var d = tid; d < D; d += CH) {
    var o = 0.0;
    for (var j = j0; j < nKeys; j++) { o += pr[j] * vCache[((seq0 + c * CH + j) * KVH + kh) * D + d]; }
    part[base + d] = o;
  }
  if (tid == 0u) {
    var l = 0.0;
    for (var j = j0; j < nKeys; j++) { l += pr[j]; }
    part[base + D] = m;
    part[base + D + 1u] = l;
  }
}
