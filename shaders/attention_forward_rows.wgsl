// attention_forward_rows: causal grouped-query self-attention, flash-attention style, two
// query rows per row slot (the fast path for D % 4 == 0, D <= 256).
//   out[b,t,h,:] = Σ_s softmax_s(q[b,t,h]·k[b,s,kh]·scale + mask) · v[b,s,kh,:]
//   lse[b,h,t]   = log Σ_s exp(q·k·scale) over visible s (saved for the backward pass)
// kh = h / (H/KVH), scale = 1/sqrt(D). Mask and the contiguous-segment requirement as in
// attention_forward: s <= t, t - s < window and seg[b,s] == seg[b,t]; key tiles before the
// segment or the window of the block's first row are skipped.
// Shapes: q, out [B·T, H, D] (read as vec4); k, v [B·T, KVH, D]; lse [B, H, T]; seg u32 [B·T].
// Bindings: 0 out (rw), 1 lse (rw), 2 q, 3 k, 4 v, 5 seg, 6 params {B,T,H,KVH,D,scale,window}
// The launcher prepends lib/window.wgsl + lib/segments.wgsl (windowStart, segmentStart: the first key tile to visit),
// lib/attention_rows.wgsl (D4MAX, DS4, the lane split: SPLIT, rowLanes, reduceLanes, laneSum; hsum4) and
// lib/attention_key_rows.wgsl (the K/V tile: ks, vs, segk, loadKeyRows).
// Grid: (ceil(T/P), KVH·ceil(G/GW), B) (lib/attention_key_rows queryBlock: a block's rows are P positions
// of GW query heads of one kv head, so a K/V tile serves the whole GQA group). Each row slot keeps its
// two query rows (rows r and r+R of the block) and their output accumulators in private memory, split across its S lanes; the workgroup streams K/V
// tiles of BC keys through workgroup memory and the lanes of a slot read the same key at the
// same time (a broadcast, not a gather, on software adapters; two rows per slot halve those
// reads per FMA, ~1.5x on llvmpipe). Every lane of a slot computes the same scores (partial
// dot products summed by reduceLanes), so they agree on the online softmax.
// Workgroup memory: 2·BC·DMAX + KMAX + 2 words, plus 2·PARTN (KMAX·WG) for the lane sums.
override WG: u32 = 32;    // invocations: S lanes × R row slots, 2·R query rows per workgroup
override BC: u32 = 16;    // keys per tile at DMAX (tileRows(BC) <= KMAX <= BCMAX at p.D)
override DMAX: u32 = 64;  // head dim the tiles are sized for (D <= 4·S·DS4 <= DMAX)
const BCMAX: u32 = 32u;   // private score slots
const NEG: f32 = -1e30;   // masked score; tested with > -1e29 so exp never sees it

alias LanePart = vec2<f32>; // a lane's partial scores (row A, row B) of one key

struct Params { B: u32, T: u32, H: u32, KVH: u32, D: u32, scale: f32, window: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> seg: array<u32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let T = p.T; let H = p.H; let KVH = p.KVH;
  let D4 = p.D / 4u;
  let R = WG / rowLanes();   // row slots
  let qb = queryBlock(wid, T, H, KVH, R); // the group's heads and the positions this workgroup serves
  let q0 = qb.q0;
  let b = wid.z;
  let kh = qb.kh;
  let r = rowSlot(tid);
  let d0 = laneStart(tid);
  // Two query rows per slot (r and r + R): each broadcast K/V element feeds both.
  let rowA = queryRow(qb, r);
  let rowB = queryRow(qb, r + R);
  let tA = rowA.t; let tB = rowB.t;
  var qA: array<vec4<f32>, D4MAX>; var qB: array<vec4<f32>, D4MAX>;
  var aA: array<vec4<f32>, D4MAX>; var aB: array<vec4<f32>, D4MAX>;
  let qbA = ((b * T + tA) * H + rowA.h) * D4;
  let qbB = ((b * T + tB) * H + rowB.h) * D4;
  for (var d = 0u; d < DS4; d++) {
    let dc = min(d0 + d, D4 - 1u);
    qA[d] = select(vec4<f32>(0.0), q[qbA + dc] * p.scale, d0 + d < D4);
    qB[d] = select(vec4<f32>(0.0), q[qbB + dc] * p.scale, d0 + d < D4);
    aA[d] = vec4<f32>(0.0); aB[d] = vec4<f32>(0.0);
  }
  let segA = seg[b * T + tA]; let segB = seg[b * T + tB];
  var m = vec2<f32>(NEG);
  var l = vec2<f32>(0.0);
  var sc: array<vec2<f32>, BCMAX>;

  let kEnd = qb.end;
  // Key tiles before the segment or the window of the block's first row are skipped.
  let NK = tileRows(BC); let KW = tileRowVec4s(); // keys per tile, vec4 per key row
  let kStart = (segmentStart(b, q0, T, tid, windowStart(q0, p.window)) / NK) * NK;
  for (var k0 = kStart; k0 < kEnd; k0 += NK) {
    workgroupBarrier();
    loadKeyRows(b, k0, kh, T, KVH, D4, tid);
    workgroupBarrier();
    let nj = min(NK, kEnd - k0);
    var mNew = m;
    for (var j = 0u; j < nj; j++) {
      var dA = vec4<f32>(0.0); var dB = vec4<f32>(0.0);
      for (var d = 0u; d < DS4; d++) { let kk = ks[j * KW + d0 + d]; dA = fma(qA[d], kk, dA); dB = fma(qB[d], kk, dB); }
      let x = vec2<f32>(hsum4(dA), hsum4(dB));
      if (SPLIT) { part[j * WG + tid] = x; } else {
        let y = maskScores(x, k0 + j, tA, tB, segk[j] == segA, segk[j] == segB);
        sc[j] = y; mNew = max(mNew, y);
      }
    }
    if (SPLIT) {
      workgroupBarrier();
      reduceLanes(nj, tid);
      workgroupBarrier();
      for (var j = 0u; j < nj; j++) {
        let y = maskScores(laneSum(j, r), k0 + j, tA, tB, segk[j] == segA, segk[j] == segB);
        sc[j] = y; mNew = max(mNew, y);
      }
    }
    let alpha = exp(m - mNew);
    l *= alpha;
    for (var d = 0u; d < DS4; d++) { aA[d] *= alpha.x; aB[d] *= alpha.y; }
    for (var j = 0u; j < nj; j++) {
      let x = sc[j];
      let pr = select(vec2<f32>(0.0), exp(x - mNew), x > vec2<f32>(-1e29));
      l += pr;
      for (var d = 0u; d < DS4; d++) { let vv = vs[j * KW + d0 + d]; aA[d] = fma(vec4<f32>(pr.x), vv, aA[d]); aB[d] = fma(vec4<f32>(pr.y), vv, aB[d]); }
    }
    m = mNew;
  }
  let n4 = laneVec4s(D4, d0); // vec4 of the row this lane writes
  if (rowA.live) {
    let inv = 1.0 / l.x;
    for (var d = 0u; d < n4; d++) { out[qbA + d0 + d] = aA[d] * inv; }
    if (d0 == 0u) { lse[(b * H + rowA.h) * T + tA] = m.x + log(l.x); }
  }
  if (rowB.live) {
    let inv = 1.0 / l.y;
    for (var d = 0u; d < n4; d++) { out[qbB + d0 + d] = aB[d] * inv; }
    if (d0 == 0u) { lse[(b * H + rowB.h) * T + tB] = m.y + log(l.y); }
  }
}

// Scores (rows A, B) of key s: NEG where s is masked for the row.
fn maskScores(x: vec2<f32>, s: u32, tA: u32, tB: u32, sameA: bool, sameB: bool) -> vec2<f32> {
  return vec2<f32>(select(NEG, x.x, inWindow(tA, s, p.window) && sameA),
                   select(NEG, x.y, inWindow(tB, s, p.window) && sameB));
}
