// attention_backward_dq_rows: dq of causal grouped-query attention, flash-attention-2 style,
// two query rows per row slot (the fast path for D % 4 == 0, D <= 256).
//   P[t,s]  = exp(q[t]·k[s]·scale - lse[t])        (0 where s is masked)
//   dS[t,s] = P[t,s] · (dout[t]·v[s] - Dl[t])
//   dq[t]   = scale · Σ_s dS[t,s] · k[s]            (OVERWRITES dq)
// Mask as in attention_forward: s <= t, t - s < window and seg[b,s] == seg[b,t]. kh = h / (H/KVH).
// Shapes: dq, dout, q [B·T, H, D] (read as vec4); k, v [B·T, KVH, D]; stats vec2 (lse, Dl) [B, H, T];
// seg u32 [B·T].
// Bindings: 0 dq (rw), 1 dout, 2 q, 3 k, 4 v, 5 stats (lse, Dl), 6 seg, 7 params {B,T,H,KVH,D,scale,window}
// The launcher prepends lib/window.wgsl + lib/segments.wgsl (windowStart, segmentStart: the first key tile to visit) and
// lib/attention_rows.wgsl (D4MAX, DS4, the lane split: SPLIT, rowLanes, reduceLanes, laneSum; hsum4, rowProbGrad) and
// lib/attention_key_rows.wgsl (the K/V tile: ks, vs, segk, loadKeyRows).
// Grid: (ceil(T/P), KVH·ceil(G/GW), B), rows as in attention_forward_rows (a block's rows span the GQA
// group's heads, lib/attention_key_rows queryBlock). Two rows' q, dout and dq (rows r, r+R) live in private memory,
// split across the slot's S lanes; K/V tiles of BC keys stream through workgroup memory, read as
// broadcasts (see attention_forward_rows). Workgroup memory: 2·BC·DMAX + KMAX + 2 words, plus
// 4·PARTN (KMAX·WG) for the lane sums (SPLIT). Key tiles before the segment of the block's first row are skipped
// (see attention_forward).
override WG: u32 = 32;    // invocations: S lanes × R row slots, 2·R query rows per workgroup
override BC: u32 = 16;    // keys per tile at DMAX (tileRows(BC) <= KMAX at p.D)
override DMAX: u32 = 64;  // head dim the tiles are sized for (D <= 4·S·DS4 <= DMAX)

alias LanePart = vec4<f32>; // a lane's partial (q·k A, q·k B, dout·v A, dout·v B) of one key

struct Params { B: u32, T: u32, H: u32, KVH: u32, D: u32, scale: f32, window: u32 }

@group(0) @binding(0) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> stats: array<vec2<f32>>; // (lse, Dl)
@group(0) @binding(6) var<storage, read> seg: array<u32>;
@group(0) @binding(7) var<uniform> p: Params;

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
  let rowA = queryRow(qb, r); // rows before 0, past the block or past the group compute a copy and write nothing
  let rowB = queryRow(qb, r + R);
  let tA = rowA.t; let tB = rowB.t;
  var qA: array<vec4<f32>, D4MAX>; var qB: array<vec4<f32>, D4MAX>;   // q rows, pre-scaled
  var oA: array<vec4<f32>, D4MAX>; var oB: array<vec4<f32>, D4MAX>;   // dout rows
  var aA: array<vec4<f32>, D4MAX>; var aB: array<vec4<f32>, D4MAX>;   // dq rows / scale
  let qbA = ((b * T + tA) * H + rowA.h) * D4;
  let qbB = ((b * T + tB) * H + rowB.h) * D4;
  for (var d = 0u; d < DS4; d++) {
    let dc = min(d0 + d, D4 - 1u);
    let live = d0 + d < D4;
    qA[d] = select(vec4<f32>(0.0), q[qbA + dc] * p.scale, live);
    qB[d] = select(vec4<f32>(0.0), q[qbB + dc] * p.scale, live);
    oA[d] = select(vec4<f32>(0.0), dout[qbA + dc], live);
    oB[d] = select(vec4<f32>(0.0), dout[qbB + dc], live);
    aA[d] = vec4<f32>(0.0); aB[d] = vec4<f32>(0.0);
  }
  let segA = seg[b * T + tA]; let segB = seg[b * T + tB];
  let stA = stats[(b * H + rowA.h) * T + tA];
  let stB = stats[(b * H + rowB.h) * T + tB];
  let kEnd = qb.end;
  // Key tiles before the segment or the window of the block's first row are skipped.
  let NK = tileRows(BC); let KW = tileRowVec4s(); // keys per tile, vec4 per key row
  let kStart = (segmentStart(b, q0, T, tid, windowStart(q0, p.window)) / NK) * NK;
  for (var k0 = kStart; k0 < kEnd; k0 += NK) {
    workgroupBarrier();
    loadKeyRows(b, k0, kh, T, KVH, D4, tid);
    workgroupBarrier();
    let nj = min(NK, kEnd - k0);
    if (SPLIT) {
      for (var j = 0u; j < nj; j++) { part[j * WG + tid] = keyDots(j, KW, d0, &qA, &qB, &oA, &oB); }
      workgroupBarrier();
      reduceLanes(nj, tid);
      workgroupBarrier();
    }
    for (var j = 0u; j < nj; j++) {
      var x: vec4<f32>;
      if (SPLIT) { x = laneSum(j, r); } else { x = keyDots(j, KW, d0, &qA, &qB, &oA, &oB); }
      let s = k0 + j;
      let dsA = vec4<f32>(rowProbGrad(x.x, x.z, stA, inWindow(tA, s, p.window) && segk[j] == segA).y);
      let dsB = vec4<f32>(rowProbGrad(x.y, x.w, stB, inWindow(tB, s, p.window) && segk[j] == segB).y);
      for (var d = 0u; d < DS4; d++) {
        let kk = ks[j * KW + d0 + d];
        aA[d] = fma(dsA, kk, aA[d]);
        aB[d] = fma(dsB, kk, aB[d]);
      }
    }
  }
  let n4 = laneVec4s(D4, d0); // vec4 of the row this lane writes
  if (rowA.live) {
    for (var d = 0u; d < n4; d++) { dq[qbA + d0 + d] = aA[d] * p.scale; }
  }
  if (rowB.live) {
    for (var d = 0u; d < n4; d++) { dq[qbB + d0 + d] = aB[d] * p.scale; }
  }
}

// (q·k A, q·k B, dout·v A, dout·v B) of the tile's key j over this lane's vec4 of the rows.
fn keyDots(j: u32, KW: u32, d0: u32, qA: ptr<function, array<vec4<f32>, D4MAX>>, qB: ptr<function, array<vec4<f32>, D4MAX>>,
           oA: ptr<function, array<vec4<f32>, D4MAX>>, oB: ptr<function, array<vec4<f32>, D4MAX>>) -> vec4<f32> {
  var sA = vec4<f32>(0.0); var sB = vec4<f32>(0.0);
  var pA = vec4<f32>(0.0); var pB = vec4<f32>(0.0);
  for (var d = 0u; d < DS4; d++) {
    let kk = ks[j * KW + d0 + d];
    let vv = vs[j * KW + d0 + d];
    sA = fma((*qA)[d], kk, sA); sB = fma((*qB)[d], kk, sB);
    pA = fma((*oA)[d], vv, pA); pB = fma((*oB)[d], vv, pB);
  }
  return vec4<f32>(hsum4(sA), hsum4(sB), hsum4(pA), hsum4(pB));
}
