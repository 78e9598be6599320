// attention_backward_dq_rows: dq of causal grouped-query attention, flash-attention-2 style,
// four query rows per row slot at whole rows, two when split (the fast path for D % 4 == 0, D <= 256).
//   P[t,s]  = exp(q[t]·k[s]·scale - lse[t])        (0 where s is masked)
//   dS[t,s] = P[t,s] · (dout[t]·v[s] - Dl[t])
//   dq[t]   = scale · Σ_s dS[t,s] · k[s]            (OVERWRITES dq)
// Mask as in attention_forward: s <= t, t - s < window and seg[b,s] == seg[b,t]. kh = h / (H/KVH).
// Shapes: dq, dout, q [B·T, H, D] (read as vec4); k, v [B·T, KVH, D]; stats vec2 (lse, Dl) [B, H, T];
// seg u32 [B·T].
// Bindings: 0 dq (rw), 1 dout, 2 q, 3 k, 4 v, 5 stats (lse, Dl), 6 seg, 7 params {B,T,H,KVH,D,scale,window}
// The launcher prepends lib/window.wgsl + lib/segments.wgsl (windowStart, segmentStart: the first
// key tile to visit), lib/attention_rows.wgsl (D4MAX, DS4, the lane split: SPLIT, rowLanes,
// reduceLanes, laneSum; hsum4, rowProbGrad), lib/row_reads_*.wgsl (how a tile row is read:
// rowInvocation, rowVec4) and lib/attention_key_rows.wgsl (the K/V tile: ks, vs, segk, loadKeyRows,
// keyRegs, valueRegs).
// Grid: (ceil(T/P), KVH·ceil(G/GW), B), rows as in attention_forward_rows (a block's rows span the
// GQA group's heads, lib/attention_key_rows queryBlock over NR·R rows). A slot's NR rows' q, dout
// and dq (rows r + i·R) live in private memory, split across the slot's S lanes; K/V tiles of BC
// keys stream through workgroup memory, each element read feeding NR rows (see
// attention_forward_rows on why reads are the cost). Workgroup memory: 2·BC·DMAX + KMAX + 2 words (+ 1, subgroup row reads),
// plus 4·PARTN (KMAX·WG) for the lane sums (SPLIT). Key tiles before the segment of the block's
// first row are skipped (see attention_forward).
override WG: u32 = 16;    // invocations: S lanes × R row slots, NR·R query rows per workgroup
override BC: u32 = 16;    // keys per tile at DMAX (tileRows(BC) <= KMAX at p.D)
override DMAX: u32 = 64;  // head dim the tiles are sized for (D <= 4·S·DS4 <= DMAX)

alias LanePart = vec4<f32>; // a lane's partial (q·k rows 0, 1, dout·v rows 0, 1) of one key (SPLIT: NR = 2)
// Query rows per row slot: 4 for whole rows; 2 when split, where a vec4 lane sum holds two rows' pairs
// (attention.ts rowsPerSlot).
const NRMAX: u32 = 4u;
override NR: u32 = select(4u, 2u, SPLIT);

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
  // NR query rows per slot (r + i·R): each K/V element read feeds all of them. Rows before 0, past
  // the block or past the group compute a copy and write nothing.
  var rows: array<QueryRow, NRMAX>;
  var qs: array<array<vec4<f32>, D4MAX>, NRMAX>;   // q rows, pre-scaled
  var os: array<array<vec4<f32>, D4MAX>, NRMAX>;   // dout rows
  var acc: array<array<vec4<f32>, D4MAX>, NRMAX>;  // dq rows / scale
  var qbase: array<u32, NRMAX>;
  var st: array<vec2<f32>, NRMAX>;
  var segq: vec4<u32>;
  var tq: vec4<u32>;
  for (var i = 0u; i < NR; i++) {
    rows[i] = queryRow(qb, r + i * R);
    tq[i] = rows[i].t;
    qbase[i] = ((b * T + rows[i].t) * H + rows[i].h) * D4;
    segq[i] = seg[b * T + rows[i].t];
    st[i] = stats[(b * H + rows[i].h) * T + rows[i].t];
    for (var d = 0u; d < DS4; d++) {
      let dc = min(d0 + d, D4 - 1u);
      let live = d0 + d < D4;
      qs[i][d] = select(vec4<f32>(0.0), q[qbase[i] + dc] * p.scale, live);
      os[i][d] = select(vec4<f32>(0.0), dout[qbase[i] + dc], live);
      acc[i][d] = vec4<f32>(0.0);
    }
  }
  var kr: array<vec4<f32>, ROW_REGS>; // the current key's k and v rows (lib/row_reads_*)
  var vr: array<vec4<f32>, ROW_REGS>;
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
      for (var j = 0u; j < nj; j++) {
        keyRegs(j, KW, d0, &kr);
        valueRegs(j, KW, d0, &vr);
        let x = keyDots(&kr, &vr, &qs, &os);
        part[j * WG + tid] = packPairs(x);
      }
      workgroupBarrier();
      reduceLanes(nj, tid);
      workgroupBarrier();
    }
    for (var j = 0u; j < nj; j++) {
      keyRegs(j, KW, d0, &kr);
      var x: array<vec4<f32>, 2>; // (q·k, dout·v) of the slot's rows
      if (SPLIT) { x = unpackPairs(laneSum(j, r)); }
      else { valueRegs(j, KW, d0, &vr); x = keyDots(&kr, &vr, &qs, &os); }
      let s = k0 + j;
      var ds = vec4<f32>(0.0);
      for (var i = 0u; i < NR; i++) {
        ds[i] = rowProbGrad(x[0][i], x[1][i], st[i], inWindow(tq[i], s, p.window) && segk[j] == segq[i]).y;
      }
      for (var d = 0u; d < DS4; d++) {
        let kk = rowVec4(&kr, d);
        for (var i = 0u; i < NR; i++) { acc[i][d] = fma(vec4<f32>(ds[i]), kk, acc[i][d]); }
      }
    }
  }
  let n4 = laneVec4s(D4, d0); // vec4 of the row this lane writes
  for (var i = 0u; i < NR; i++) {
    if (rows[i].live) {
      for (var d = 0u; d < n4; d++) { dq[qbase[i] + d0 + d] = acc[i][d] * p.scale; }
    }
  }
}

// (q·k, dout·v) of key j (its k and v row registers kr, vr) for the slot's NR rows (component i: row i)
// over this lane's vec4 of the rows.
fn keyDots(kr: ptr<function, array<vec4<f32>, ROW_REGS>>, vr: ptr<function, array<vec4<f32>, ROW_REGS>>,
           qs: ptr<function, array<array<vec4<f32>, D4MAX>, NRMAX>>, os: ptr<function, array<array<vec4<f32>, D4MAX>, NRMAX>>) -> array<vec4<f32>, 2> {
  // Initialized explicitly: left to the implicit zero, llvmpipe carried the sums over from the last key.
  var sd = array<vec4<f32>, NRMAX>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  var pd = array<vec4<f32>, NRMAX>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  for (var d = 0u; d < DS4; d++) {
    let kk = rowVec4(kr, d);
    let vv = rowVec4(vr, d);
    for (var i = 0u; i < NR; i++) { sd[i] = fma((*qs)[i][d], kk, sd[i]); pd[i] = fma((*os)[i][d], vv, pd[i]); }
  }
  return array<vec4<f32>, 2>(vec4<f32>(hsum4(sd[0]), hsum4(sd[1]), hsum4(sd[2]), hsum4(sd[3])),
                             vec4<f32>(hsum4(pd[0]), hsum4(pd[1]), hsum4(pd[2]), hsum4(pd[3])));
}
