// attention_decode: first pass of one-token attention over a KV cache, split over the cache
// length (split-K) so long contexts still fill the GPU. Workgroup (c, h) scores keys
// s in [c·CH, min((c+1)·CH, pos+1)) for query head h and writes its unnormalised partial:
//   m = max_s q·k[s]·scale,  l = Σ_s exp(q·k[s]·scale - m),  o[d] = Σ_s exp(..- m)·v[s, d]
// attention_decode_combine merges the partials. Every chunk holds >= 1 key, so m is finite.
// Shapes: part [H, nChunks, D + 2] (o[0..D), m, l); q [H, D]; kCache, vCache [maxT, KVH, D].
// kh = h / (H/KVH), scale = 1/sqrt(D). q is the token at position pos; its own k/v must
// already be in the cache (kv_cache_append first).
// Bindings: 0 part (rw), 1 q, 2 kCache, 3 vCache, 4 params {pos, nChunks, H, KVH, D, scale}
// Grid: (nChunks, H). Workgroup memory: DMAX + CH floats.
override CH: u32 = 64;     // keys per chunk = invocations per workgroup (one score each)
override DMAX: u32 = 64;
const NEG: f32 = -1e30;

struct Params { pos: u32, nChunks: u32, H: u32, KVH: u32, D: u32, scale: f32 }

@group(0) @binding(0) var<storage, read_write> part: array<f32>;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kCache: array<f32>;
@group(0) @binding(3) var<storage, read> vCache: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> qs: array<f32, DMAX>;
var<workgroup> pr: array<f32, CH>;

@compute @workgroup_size(CH)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let D = p.D; let KVH = p.KVH;
  let c = wid.x;
  let h = wid.y;
  let kh = h / (p.H / KVH);
  for (var d = tid; d < D; d += CH) { qs[d] = q[h * D + d]; }
  workgroupBarrier();
  let s = c * CH + tid;
  var sc = NEG;
  if (s <= p.pos) {
    var dot = 0.0;
    for (var d = 0u; d < D; d++) { dot += qs[d] * kCache[(s * KVH + kh) * D + d]; }
    sc = dot * p.scale;
  }
  pr[tid] = sc;
  workgroupBarrier();
  // Every invocation reads all CH scores: no extra barriers for a reduction tree.
  var m = NEG;
  for (var j = 0u; j < CH; j++) { m = max(m, pr[j]); }
  workgroupBarrier();
  pr[tid] = select(0.0, exp(sc - m), s <= p.pos);
  workgroupBarrier();
  let base = (h * p.nChunks + c) * (D + 2u);
  let nKeys = min(CH, p.pos + 1u - c * CH);
  for (var d = tid; d < D; d += CH) {
    var o = 0.0;
    for (var j = 0u; j < nKeys; j++) { o += pr[j] * vCache[((c * CH + j) * KVH + kh) * D + d]; }
    part[base + d] = o;
  }
  if (tid == 0u) {
    var l = 0.0;
    for (var j = 0u; j < nKeys; j++) { l += pr[j]; }
    part[base + D] = m;
    part[base + D + 1u] = l;
  }
}
