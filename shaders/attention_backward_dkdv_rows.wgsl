// attention_backward_dkdv_rows: dk and dv of causal grouped-query attention, flash-attention-2
// style, two key rows per row slot (the fast path for D % 4 == 0, D <= 256). A workgroup owns
// 2·R keys of one kv head and loops over every query head of its group and every query tile
// that can see them, so GQA sums need no atomics.
//   P[t,s]  = exp(q[t]·k[s]·scale - lse[t])        (0 where s is masked)
//   dv[s]   = Σ_{h in group} Σ_t P[t,s] · dout[t]                     (OVERWRITES dv)
//   dk[s]   = scale · Σ_{h in group} Σ_t P[t,s]·(dout[t]·v[s] - Dl[t]) · q[t]   (OVERWRITES dk)
// Mask as in attention_forward: s <= t, t - s < window and seg[b,s] == seg[b,t].
// Shapes: dk, dv, k, v [B·T, KVH, D] (read as vec4); dout, q [B·T, H, D]; stats vec2 (lse, Dl)
// [B, H, T]; seg u32 [B·T].
// Bindings: 0 dk (rw), 1 dv (rw), 2 dout, 3 q, 4 k, 5 v, 6 stats (lse, Dl), 7 seg,
//           8 params {B,T,H,KVH,D,scale,window}
// The launcher prepends lib/window.wgsl (inWindow) + lib/segments.wgsl (segmentEnd: one past the last query tile to visit) and
// lib/attention_rows.wgsl (D4MAX, DS4, the lane split: SPLIT, rowLanes, reduceLanes, laneSum; hsum4, rowProbGrad).
// Grid: (ceil(T/(2·R)), KVH, B). Two keys' k, v, dk, dv rows (k0+r, k0+r+R) live in private memory,
// split across the slot's S lanes; Q/dout tiles of BR queries stream through workgroup memory,
// read as broadcasts. Each Q/dout tile load serves the slot's two keys and all 2·R keys of the
// block. Workgroup memory: 2·BR·DMAX + 3·KMAX + 2 words, plus 4·PARTN for the lane sums (SPLIT).
// Query tiles after the segment of the block's last key are skipped.
override WG: u32 = 32;    // invocations: S lanes × R row slots, 2·R keys per workgroup
override BR: u32 = 16;    // queries per tile at DMAX (tileRows(BR) <= KMAX at p.D)
override KMAX: u32 = BR;  // most queries a tile holds: BR, or with SPLIT up to BR·DM4 / (2·DS4)
override DMAX: u32 = 64;  // head dim the tiles are sized for (D <= 4·S·DS4 <= DMAX)

alias LanePart = vec4<f32>; // a lane's partial (k·q A, k·q B, v·dout A, v·dout B) of one query

struct Params { B: u32, T: u32, H: u32, KVH: u32, D: u32, scale: f32, window: u32 }

@group(0) @binding(0) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> stats: array<vec2<f32>>; // (lse, Dl)
@group(0) @binding(7) var<storage, read> seg: array<u32>;
@group(0) @binding(8) var<uniform> p: Params;

var<workgroup> qs: array<vec4<f32>, BR * DMAX / 4u>;
var<workgroup> dos: array<vec4<f32>, BR * DMAX / 4u>;
var<workgroup> strow: array<vec2<f32>, KMAX>; // (lse, Dl) per query of the tile
var<workgroup> segq: array<u32, KMAX>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let T = p.T; let H = p.H; let KVH = p.KVH;
  let D4 = p.D / 4u;
  let R = WG / rowLanes();   // row slots
  let k0 = wid.x * 2u * R;
  let kh = wid.y;
  let b = wid.z;
  let group = H / KVH;
  let r = rowSlot(tid);
  let d0 = laneStart(tid);
  // Two key rows per slot (r and r + R): each broadcast Q/dout element feeds both.
  let sA = min(k0 + r, T - 1u); // keys past T compute a copy of the last key and write nothing
  let sB = min(k0 + r + R, T - 1u);
  var kA: array<vec4<f32>, D4MAX>; var kB: array<vec4<f32>, D4MAX>;  // k rows, pre-scaled
  var vA: array<vec4<f32>, D4MAX>; var vB: array<vec4<f32>, D4MAX>;
  var gkA: array<vec4<f32>, D4MAX>; var gkB: array<vec4<f32>, D4MAX>;
  var gvA: array<vec4<f32>, D4MAX>; var gvB: array<vec4<f32>, D4MAX>;
  let kbA = ((b * T + sA) * KVH + kh) * D4;
  let kbB = ((b * T + sB) * KVH + kh) * D4;
  for (var d = 0u; d < DS4; d++) {
    let dc = min(d0 + d, D4 - 1u);
    let live = d0 + d < D4;
    kA[d] = select(vec4<f32>(0.0), k[kbA + dc] * p.scale, live);
    kB[d] = select(vec4<f32>(0.0), k[kbB + dc] * p.scale, live);
    vA[d] = select(vec4<f32>(0.0), v[kbA + dc], live);
    vB[d] = select(vec4<f32>(0.0), v[kbB + dc], live);
    gkA[d] = vec4<f32>(0.0); gkB[d] = vec4<f32>(0.0);
    gvA[d] = vec4<f32>(0.0); gvB[d] = vec4<f32>(0.0);
  }
  let segA = seg[b * T + sA]; let segB = seg[b * T + sB];

  let NQ = tileRows(BR); let QW = tileRowVec4s(); // queries per tile, vec4 per query row
  let qStart = (k0 / NQ) * NQ; // causal: no query before the block's first key
  // Query tiles past the segment or the window of the block's last key are skipped.
  let kLast = min(k0 + 2u * R, T) - 1u;
  let qEnd = min(segmentEnd(b, kLast, T, tid), kLast + p.window);
  for (var h = kh * group; h < (kh + 1u) * group; h++) {
    for (var q0 = qStart; q0 < qEnd; q0 += NQ) {
      workgroupBarrier();
      for (var e = tid; e < NQ * QW; e += WG) {
        let t = q0 + e / QW;
        let d = e % QW;
        var qq = vec4<f32>(0.0);
        var oo = vec4<f32>(0.0);
        if (t < T && d < D4) {
          let gi = ((b * T + t) * H + h) * D4 + d;
          qq = q[gi];
          oo = dout[gi];
        }
        qs[e] = qq;
        dos[e] = oo;
      }
      for (var i = tid; i < NQ; i += WG) {
        let t = q0 + i;
        let tcl = min(t, T - 1u);
        segq[i] = select(0xffffffffu, seg[b * T + tcl], t < T);
        strow[i] = select(vec2<f32>(0.0), stats[(b * H + h) * T + tcl], t < T);
      }
      workgroupBarrier();
      let ni = min(NQ, qEnd - q0);
      if (SPLIT) {
        for (var i = 0u; i < ni; i++) { part[i * WG + tid] = queryDots(i, QW, d0, &kA, &kB, &vA, &vB); }
        workgroupBarrier();
        reduceLanes(ni, tid);
        workgroupBarrier();
      }
      for (var i = 0u; i < ni; i++) {
        var x: vec4<f32>;
        if (SPLIT) { x = laneSum(i, r); } else { x = queryDots(i, QW, d0, &kA, &kB, &vA, &vB); }
        let st = strow[i];
        let t = q0 + i;
        let gA = rowProbGrad(x.x, x.z, st, inWindow(t, sA, p.window) && segq[i] == segA);
        let gB = rowProbGrad(x.y, x.w, st, inWindow(t, sB, p.window) && segq[i] == segB);
        let prA = gA.x; let prB = gB.x;
        let dsA = vec4<f32>(gA.y);
        let dsB = vec4<f32>(gB.y);
        for (var d = 0u; d < DS4; d++) {
          let qq = qs[i * QW + d0 + d];
          let oo = dos[i * QW + d0 + d];
          gvA[d] = fma(vec4<f32>(prA), oo, gvA[d]); gvB[d] = fma(vec4<f32>(prB), oo, gvB[d]);
          gkA[d] = fma(dsA, qq, gkA[d]); gkB[d] = fma(dsB, qq, gkB[d]);
        }
      }
    }
  }
  let n4 = laneVec4s(D4, d0); // vec4 of the row this lane writes
  if (k0 + r < T) {
    for (var d = 0u; d < n4; d++) { dk[kbA + d0 + d] = gkA[d] * p.scale; dv[kbA + d0 + d] = gvA[d]; }
  }
  if (k0 + r + R < T) {
    for (var d = 0u; d < n4; d++) { dk[kbB + d0 + d] = gkB[d] * p.scale; dv[kbB + d0 + d] = gvB[d]; }
  }
}

// (k·q A, k·q B, v·dout A, v·dout B) of the tile's query i over this lane's vec4 of the rows.
fn queryDots(i: u32, QW: u32, d0: u32, kA: ptr<function, array<vec4<f32>, D4MAX>>, kB: ptr<function, array<vec4<f32>, D4MAX>>,
             vA: ptr<function, array<vec4<f32>, D4MAX>>, vB: ptr<function, array<vec4<f32>, D4MAX>>) -> vec4<f32> {
  var cA = vec4<f32>(0.0); var cB = vec4<f32>(0.0);
  var pA = vec4<f32>(0.0); var pB = vec4<f32>(0.0);
  for (var d = 0u; d < DS4; d++) {
    let qq = qs[i * QW + d0 + d];
    let oo = dos[i * QW + d0 + d];
    cA = fma((*kA)[d], qq, cA); cB = fma((*kB)[d], qq, cB);
    pA = fma((*vA)[d], oo, pA); pB = fma((*vB)[d], oo, pB);
  }
  return vec4<f32>(hsum4(cA), hsum4(cB), hsum4(pA), hsum4(pB));
}
