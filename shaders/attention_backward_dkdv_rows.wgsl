// attention_backward_dkdv_rows: dk and dv of causal grouped-query attention, flash-attention-2
// style, NR key rows per row slot: four at whole rows, two when split (the fast path for
// D % 4 == 0, D <= 256). A workgroup owns NR·R keys of one kv head and loops over every query
// head of its group and every query tile that can see them, so GQA sums need no atomics.
//   P[t,s]  = exp(q[t]·k[s]·scale - lse[t])        (0 where s is masked)
//   dv[s]   = Σ_{h in group} Σ_t P[t,s] · dout[t]                     (OVERWRITES dv)
//   dk[s]   = scale · Σ_{h in group} Σ_t P[t,s]·(dout[t]·v[s] - Dl[t]) · q[t]   (OVERWRITES dk)
// Mask as in attention_forward: s <= t, t - s < window and seg[b,s] == seg[b,t].
// Shapes: dk, dv, k, v [B·T, KVH, D] (read as vec4); dout, q [B·T, H, D]; stats vec2 (lse, Dl)
// [B, H, T]; seg u32 [B·T].
// Bindings: 0 dk (rw), 1 dv (rw), 2 dout, 3 q, 4 k, 5 v, 6 stats (lse, Dl), 7 seg,
//           8 params {B,T,H,KVH,D,scale,window}
// The launcher prepends lib/window.wgsl (inWindow) + lib/segments.wgsl (segmentEnd: one past the
// last query tile to visit), lib/attention_rows.wgsl (D4MAX, DS4, the lane split: SPLIT, rowLanes,
// reduceLanes, laneSum; hsum4, rowProbGrad) and lib/row_reads_*.wgsl (how a tile row is read:
// rowInvocation, rowVec4).
// Grid: (ceil(T/(NR·R)), KVH, B). A slot's NR keys' k, v, dk, dv rows (k0 + r + i·R) live in
// private memory, split across the slot's S lanes; Q/dout tiles of BR queries stream through
// workgroup memory and every invocation reads the same query row at the same time, so each
// element read feeds the slot's NR keys (see attention_forward_rows on why reads are the cost).
// Workgroup memory: 2·BR·DMAX + 3·KMAX + 2 words (+ 1 for the subgroup row reads), plus 4·PARTN for the lane sums (SPLIT).
// Query tiles after the segment of the block's last key are skipped.
override WG: u32 = 16;    // invocations: S lanes × R row slots, NR·R keys per workgroup
override BR: u32 = 16;    // queries per tile at DMAX (tileRows(BR) <= KMAX at p.D)
override KMAX: u32 = BR;  // most queries a tile holds: BR, or with SPLIT up to BR·DM4 / (2·DS4)
override DMAX: u32 = 64;  // head dim the tiles are sized for (D <= 4·S·DS4 <= DMAX)

alias LanePart = vec4<f32>; // a lane's partial (k·q keys 0, 1, v·dout keys 0, 1) of one query (SPLIT: NR = 2)
// Key rows per row slot: 4 for whole rows; 2 when split, where a vec4 lane sum holds two keys' pairs
// (attention.ts rowsPerSlot).
const NRMAX: u32 = 4u;
override NR: u32 = select(4u, 2u, SPLIT);

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
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let tid = rowInvocation(lid); // first: the subgroup row reads number the invocations
  let T = p.T; let H = p.H; let KVH = p.KVH;
  let D4 = p.D / 4u;
  let R = WG / rowLanes();   // row slots
  let k0 = wid.x * NR * R;
  let kh = wid.y;
  let b = wid.z;
  let group = H / KVH;
  let r = rowSlot(tid);
  let d0 = laneStart(tid);
  // NR key rows per slot (k0 + r + i·R); keys past T compute a copy of the last key and write nothing.
  var ks: array<array<vec4<f32>, D4MAX>, NRMAX>;  // k rows, pre-scaled
  var vr: array<array<vec4<f32>, D4MAX>, NRMAX>;
  var gk: array<array<vec4<f32>, D4MAX>, NRMAX>;
  var gv: array<array<vec4<f32>, D4MAX>, NRMAX>;
  var sk: vec4<u32>;    // key positions
  var segk: vec4<u32>;
  var kbase: array<u32, NRMAX>;
  var qr: array<vec4<f32>, ROW_REGS>; // the current query's q and dout rows (lib/row_reads_*)
  var orow: array<vec4<f32>, ROW_REGS>;
  for (var i = 0u; i < NR; i++) {
    sk[i] = min(k0 + r + i * R, T - 1u);
    segk[i] = seg[b * T + sk[i]];
    kbase[i] = ((b * T + sk[i]) * KVH + kh) * D4;
    for (var d = 0u; d < DS4; d++) {
      let dc = min(d0 + d, D4 - 1u);
      let live = d0 + d < D4;
      ks[i][d] = select(vec4<f32>(0.0), k[kbase[i] + dc] * p.scale, live);
      vr[i][d] = select(vec4<f32>(0.0), v[kbase[i] + dc], live);
      gk[i][d] = vec4<f32>(0.0);
      gv[i][d] = vec4<f32>(0.0);
    }
  }

  let NQ = tileRows(BR); let QW = tileRowVec4s(); // queries per tile, vec4 per query row
  let qStart = (k0 / NQ) * NQ; // causal: no query before the block's first key
  // Query tiles past the segment or the window of the block's last key are skipped.
  let kLast = min(k0 + NR * R, T) - 1u;
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
        for (var i = 0u; i < ni; i++) {
          queryRegs(i, QW, d0, &qr, &orow);
          let x = queryDots(&qr, &orow, &ks, &vr);
          part[i * WG + tid] = packPairs(x);
        }
        workgroupBarrier();
        reduceLanes(ni, tid);
        workgroupBarrier();
      }
      for (var i = 0u; i < ni; i++) {
        queryRegs(i, QW, d0, &qr, &orow);
        var x: array<vec4<f32>, 2>; // (k·q, v·dout) of the slot's keys
        if (SPLIT) { x = unpackPairs(laneSum(i, r)); }
        else { x = queryDots(&qr, &orow, &ks, &vr); }
        let st = strow[i];
        let t = q0 + i;
        var pr = vec4<f32>(0.0);
        var ds = vec4<f32>(0.0);
        for (var j = 0u; j < NR; j++) {
          let g = rowProbGrad(x[0][j], x[1][j], st, inWindow(t, sk[j], p.window) && segq[i] == segk[j]);
          pr[j] = g.x; ds[j] = g.y;
        }
        for (var d = 0u; d < DS4; d++) {
          let qq = rowVec4(&qr, d);
          let oo = rowVec4(&orow, d);
          for (var j = 0u; j < NR; j++) {
            gv[j][d] = fma(vec4<f32>(pr[j]), oo, gv[j][d]);
            gk[j][d] = fma(vec4<f32>(ds[j]), qq, gk[j][d]);
          }
        }
      }
    }
  }
  let n4 = laneVec4s(D4, d0); // vec4 of the row this lane writes
  for (var i = 0u; i < NR; i++) {
    if (k0 + r + i * R < T) {
      for (var d = 0u; d < n4; d++) { dk[kbase[i] + d0 + d] = gk[i][d] * p.scale; dv[kbase[i] + d0 + d] = gv[i][d]; }
    }
  }
}

// The tile's query i's q and dout rows, this lane's slice, as row registers (lib/row_reads_*).
fn queryRegs(i: u32, QW: u32, d0: u32, qr: ptr<function, array<vec4<f32>, ROW_REGS>>, orow: ptr<function, array<vec4<f32>, ROW_REGS>>) {
  for (var m = 0u; m < rowRegCount(); m++) {
    (*qr)[m] = qs[i * QW + d0 + rowRegVec4(m)];
    (*orow)[m] = dos[i * QW + d0 + rowRegVec4(m)];
  }
}

// (k·q, v·dout) of one query (its q and dout row registers qr, orow) for the slot's NR keys
// (component j: key j) over this lane's vec4 of the rows.
fn queryDots(qr: ptr<function, array<vec4<f32>, ROW_REGS>>, orow: ptr<function, array<vec4<f32>, ROW_REGS>>,
             ks: ptr<function, array<array<vec4<f32>, D4MAX>, NRMAX>>, vr: ptr<function, array<array<vec4<f32>, D4MAX>, NRMAX>>) -> array<vec4<f32>, 2> {
  // Initialized explicitly: left to the implicit zero, llvmpipe carried the sums over from the last query.
  var c = array<vec4<f32>, NRMAX>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  var pd = array<vec4<f32>, NRMAX>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  for (var d = 0u; d < DS4; d++) {
    let qq = rowVec4(qr, d);
    let oo = rowVec4(orow, d);
    for (var j = 0u; j < NR; j++) { c[j] = fma((*ks)[j][d], qq, c[j]); pd[j] = fma((*vr)[j][d], oo, pd[j]); }
  }
  return array<vec4<f32>, 2>(vec4<f32>(hsum4(c[0]), hsum4(c[1]), hsum4(c[2]), hsum4(c[3])),
                             vec4<f32>(hsum4(pd[0]), hsum4(pd[1]), hsum4(pd[2]), hsum4(pd[3])));
}
