// attention_forward_rows: causal grouped-query self-attention, flash-attention style, four
// query rows per row slot (the fast path for D % 4 == 0, D <= 256).
//   out[b,t,h,:] = Σ_s softmax_s(q[b,t,h]·k[b,s,kh]·scale + mask) · v[b,s,kh,:]
//   lse[b,h,t]   = log Σ_s exp(q·k·scale) over visible s (saved for the backward pass)
// kh = h / (H/KVH), scale = 1/sqrt(D). Mask and the contiguous-segment requirement as in
// attention_forward: s <= t, t - s < window and seg[b,s] == seg[b,t]; key tiles before the
// segment or the window of the block's first row are skipped.
// Shapes: q, out [B·T, H, D] (read as vec4); k, v [B·T, KVH, D]; lse [B, H, T]; seg u32 [B·T].
// Bindings: 0 out (rw), 1 lse (rw), 2 q, 3 k, 4 v, 5 seg, 6 params {B,T,H,KVH,D,scale,window}
// The launcher prepends lib/window.wgsl + lib/segments.wgsl (windowStart, segmentStart: the first
// key tile to visit), lib/attention_rows.wgsl (D4MAX, DS4, the lane split: SPLIT, rowLanes,
// reduceLanes, laneSum; hsum4), lib/row_reads_*.wgsl (how a tile row is read: rowInvocation,
// rowVec4) and lib/attention_key_rows.wgsl (the K/V tile: ks, vs, segk, loadKeyRows, keyRegs,
// valueRegs).
// Grid: (ceil(T/P), KVH·ceil(G/GW), B) (lib/attention_key_rows queryBlock over 4·R rows, attention.ts
// queryRowGrid with 4 rows per slot: a block's rows are P positions of GW query heads of one kv head, so
// a K/V tile serves the whole GQA group). Each row slot keeps its four query rows (rows r + i·R) and
// their output accumulators in private memory, split across its S lanes; the workgroup streams K/V
// tiles of BC keys through workgroup memory and the lanes of a slot read the same key at the
// same time. On llvmpipe every workgroup-memory read inside a loop is a per-invocation gather,
// whatever its address, so what a kernel pays for is reads per FMA: each K/V element read here
// feeds four rows (two rows per slot ran ~2x slower at T = 512), and where subgroups allow,
// lib/row_reads_subgroup reads a row in DS4 / SG gathers (~2x again). Every lane of a slot computes the
// same scores (partial dot products summed by reduceLanes), so they agree on the online softmax.
// Workgroup memory: 2·BC·DMAX + KMAX + 2 words (+ 1, subgroup row reads), plus 4·PARTN (KMAX·WG) for the lane sums.
override WG: u32 = 16;    // invocations: S lanes × R row slots, 4·R query rows per workgroup
override BC: u32 = 16;    // keys per tile at DMAX (tileRows(BC) <= KMAX <= BCMAX at p.D)
override DMAX: u32 = 64;  // head dim the tiles are sized for (D <= 4·S·DS4 <= DMAX)
const BCMAX: u32 = 32u;   // private score slots
const NEG: f32 = -1e30;   // masked score; tested with > -1e29 so exp never sees it

alias LanePart = vec4<f32>; // a lane's partial scores (its slot's 4 rows) of one key

struct Params { B: u32, T: u32, H: u32, KVH: u32, D: u32, scale: f32, window: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> seg: array<u32>;
@group(0) @binding(6) var<uniform> p: Params;

const NR: u32 = 4u; // query rows per row slot (component i of the vec4 scores is row r + i·R)

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let tid = rowInvocation(lid); // first: the subgroup row reads number the invocations
  let T = p.T; let H = p.H; let KVH = p.KVH;
  let D4 = p.D / 4u;
  let R = WG / rowLanes();   // row slots
  let qb = queryBlock(wid, T, H, KVH, NR * R); // NR·R rows: the group's heads and the positions this workgroup serves
  let q0 = qb.q0;
  let b = wid.z;
  let kh = qb.kh;
  let r = rowSlot(tid);
  let d0 = laneStart(tid);
  // Four query rows per slot (r + i·R): each K/V element read feeds all four.
  var rows: array<QueryRow, NR>;
  var qs: array<array<vec4<f32>, D4MAX>, NR>;
  var acc: array<array<vec4<f32>, D4MAX>, NR>;
  var qbase: array<u32, NR>;
  var segq: vec4<u32>;
  var tq: vec4<u32>;
  for (var i = 0u; i < NR; i++) {
    rows[i] = queryRow(qb, r + i * R);
    tq[i] = rows[i].t;
    qbase[i] = ((b * T + rows[i].t) * H + rows[i].h) * D4;
    segq[i] = seg[b * T + rows[i].t];
    for (var d = 0u; d < DS4; d++) {
      let dc = min(d0 + d, D4 - 1u);
      qs[i][d] = select(vec4<f32>(0.0), q[qbase[i] + dc] * p.scale, d0 + d < D4);
      acc[i][d] = vec4<f32>(0.0);
    }
  }
  var m = vec4<f32>(NEG);
  var l = vec4<f32>(0.0);
  var sc: array<vec4<f32>, BCMAX>;
  var kv: array<vec4<f32>, ROW_REGS>; // the current key's k, then v row (lib/row_reads_*)

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
      // Initialized explicitly: left to the implicit zero, llvmpipe carried the sums over from the last key.
      var dot = array<vec4<f32>, NR>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
      keyRegs(j, KW, d0, &kv);
      for (var d = 0u; d < DS4; d++) {
        let kk = rowVec4(&kv, d);
        for (var i = 0u; i < NR; i++) { dot[i] = fma(qs[i][d], kk, dot[i]); }
      }
      let x = vec4<f32>(hsum4(dot[0]), hsum4(dot[1]), hsum4(dot[2]), hsum4(dot[3]));
      if (SPLIT) { part[j * WG + tid] = x; } else {
        let y = maskScores(x, k0 + j, tq, vec4<u32>(segk[j]) == segq);
        sc[j] = y; mNew = max(mNew, y);
      }
    }
    if (SPLIT) {
      workgroupBarrier();
      reduceLanes(nj, tid);
      workgroupBarrier();
      for (var j = 0u; j < nj; j++) {
        let y = maskScores(laneSum(j, r), k0 + j, tq, vec4<u32>(segk[j]) == segq);
        sc[j] = y; mNew = max(mNew, y);
      }
    }
    let alpha = exp(m - mNew);
    l *= alpha;
    for (var i = 0u; i < NR; i++) { for (var d = 0u; d < DS4; d++) { acc[i][d] *= alpha[i]; } }
    for (var j = 0u; j < nj; j++) {
      let x = sc[j];
      let pr = select(vec4<f32>(0.0), exp(x - mNew), x > vec4<f32>(-1e29));
      l += pr;
      valueRegs(j, KW, d0, &kv);
      for (var d = 0u; d < DS4; d++) {
        let vv = rowVec4(&kv, d);
        for (var i = 0u; i < NR; i++) { acc[i][d] = fma(vec4<f32>(pr[i]), vv, acc[i][d]); }
      }
    }
    m = mNew;
  }
  let n4 = laneVec4s(D4, d0); // vec4 of the row this lane writes
  for (var i = 0u; i < NR; i++) {
    if (rows[i].live) {
      let inv = 1.0 / l[i];
      for (var d = 0u; d < n4; d++) { out[qbase[i] + d0 + d] = acc[i][d] * inv; }
      if (d0 == 0u) { lse[(b * H + rows[i].h) * T + rows[i].t] = m[i] + log(l[i]); }
    }
  }
}

// Scores of key s for the slot's rows at positions t: NEG where s is masked for the row
// (outside its window or its segment: same[i] false).
fn maskScores(x: vec4<f32>, s: u32, t: vec4<u32>, same: vec4<bool>) -> vec4<f32> {
  let vis = vec4<bool>(inWindow(t.x, s, p.window), inWindow(t.y, s, p.window), inWindow(t.z, s, p.window), inWindow(t.w, s, p.window));
  return select(vec4<f32>(NEG), x, vis & same);
}
