// attention_backward_dq: dq of causal grouped-query attention, flash-attention-2 style
// (probabilities recomputed from the saved logsumexp, one workgroup per query block).
//   P[t,s]  = exp(q[t]·k[s]·scale - lse[t])        (0 where s is masked)
//   dS[t,s] = P[t,s] · (dout[t]·v[s] - Dl[t])
//   dq[t]   = scale · Σ_s dS[t,s] · k[s]            (OVERWRITES dq)
// Mask as in attention_forward: s <= t, t - s < window and seg[b,s] == seg[b,t]. kh = h / (H/KVH).
// Shapes: dq, dout, q [B·T, H, D]; k, v [B·T, KVH, D]; stats vec2 (lse, Dl) [B, H, T]; seg u32 [B·T].
// Bindings: 0 dq (rw), 1 dout, 2 q, 3 k, 4 v, 5 stats (lse, Dl), 6 seg, 7 params {B,T,H,KVH,D,scale,window}
// The launcher prepends lib/window.wgsl + lib/segments.wgsl (windowStart, segmentStart: the first key tile to visit) and
// lib/attention_tiles.wgsl + lib/attention_tiles_backward.wgsl (the tiles, their loads, tileProbGrad).
// Grid: (ceil(T/BR), H, B). Workgroup memory: (2·BR + 2·BC)·DMAX + BR·BC + 3·BR + BC + 2 words.
// Key tiles before the segment of the block's first row are skipped (see attention_forward).
override WG: u32 = 128;
override BR: u32 = 16;
override BC: u32 = 8;
override DMAX: u32 = 64;
const OMAX: u32 = 8u; // BR·D <= OMAX·WG (checked by the launcher)

struct Params { B: u32, T: u32, H: u32, KVH: u32, D: u32, scale: f32, window: u32 }

@group(0) @binding(0) var<storage, read_write> dq: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<vec2<f32>>; // (lse, Dl)
@group(0) @binding(6) var<storage, read> seg: array<u32>;
@group(0) @binding(7) var<uniform> p: Params;

var<workgroup> ds: array<f32, BR * BC>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let T = p.T; let H = p.H; let KVH = p.KVH; let D = p.D;
  // Accumulator slots in use. A runtime trip count on purpose: with the constant OMAX,
  // llvmpipe unrolls everything and its JIT takes ~6x longer; GPUs lose little.
  let nOut = (BR * D + WG - 1u) / WG;
  let q0 = wid.x * BR;
  let h = wid.y;
  let b = wid.z;
  let kh = h / (H / KVH);

  loadQueryTile(b, q0, h, T, H, D, tid);
  var acc: array<f32, OMAX>;
  for (var r = 0u; r < nOut; r++) { acc[r] = 0.0; }

  let kEnd = min(T, q0 + BR);
  // Key tiles before the segment or the window of the block's first row are skipped.
  let kStart = (segmentStart(b, q0, T, tid, windowStart(q0, p.window)) / BC) * BC;
  for (var k0 = kStart; k0 < kEnd; k0 += BC) {
    workgroupBarrier();
    loadKeyTile(b, k0, kh, T, KVH, D, tid);
    workgroupBarrier();
    for (var e = tid; e < BR * BC; e += WG) {
      let i = e / BC; let j = e % BC;
      let t = q0 + i; let s = k0 + j;
      ds[e] = tileProbGrad(i, j, t, s, T, D).y;
    }
    workgroupBarrier();
    for (var r = 0u; r < nOut; r++) {
      let e = tid + r * WG;
      if (e < BR * D) {
        let i = e / D; let d = e % D;
        var g = 0.0;
        for (var j = 0u; j < BC; j++) { g += ds[i * BC + j] * ks[j * D + d]; }
        acc[r] += g;
      }
    }
  }
  for (var r = 0u; r < nOut; r++) {
    let e = tid + r * WG;
    if (e < BR * D) {
      let t = q0 + e / D;
      if (t < T) { dq[((b * T + t) * H + h) * D + e % D] = acc[r] * p.scale; }
    }
  }
}
