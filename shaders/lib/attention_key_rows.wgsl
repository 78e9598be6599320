// lib/attention_key_rows: the K/V tile of the query-row kernels (attention_forward_rows,
// attention_backward_dq_rows): tileRows(BC) keys of kv head kh as vec4 rows of tileRowVec4s()
// (zero-padded past D), every invocation reading the same row at the same time. Prepended with
// lib/attention_rows.wgsl (DM4, tileRowVec4s, tileRows) and lib/row_reads_*.wgsl (ROW_REGS,
// rowRegCount, rowRegVec4). The kernel declares `override WG, BC, DMAX` and the bindings seg, k,
// v (array<vec4<f32>>). Keys past T load zeros and segment id
// 0xfffffffe. Workgroup memory: 2·BC·DMAX + KMAX words.
override KMAX: u32 = BC;  // most keys a tile holds (segk): BC, or with SPLIT up to BC·DM4 / (2·DS4)

var<workgroup> ks: array<vec4<f32>, BC * DMAX / 4u>;
var<workgroup> vs: array<vec4<f32>, BC * DMAX / 4u>;
var<workgroup> segk: array<u32, KMAX>;

// ks, vs, segk <- keys [k0, k0 + tileRows(BC)) of kv head kh, batch b (D4 = D/4 real vec4 per row).
fn loadKeyRows(b: u32, k0: u32, kh: u32, T: u32, KVH: u32, D4: u32, tid: u32) {
  let W = tileRowVec4s();
  let n = tileRows(BC);
  for (var e = tid; e < n * W; e += WG) {
    let s = k0 + e / W;
    let d = e % W;
    var kk = vec4<f32>(0.0);
    var vv = vec4<f32>(0.0);
    if (s < T && d < D4) {
      let gi = ((b * T + s) * KVH + kh) * D4 + d;
      kk = k[gi];
      vv = v[gi];
    }
    ks[e] = kk;
    vs[e] = vv;
  }
  for (var j = tid; j < n; j += WG) {
    let s = k0 + j;
    segk[j] = select(0xfffffffeu, seg[b * T + min(s, T - 1u)], s < T);
  }
}

// Key j's k row (keyRegs) or v row (valueRegs), this lane's slice, as row registers: read each
// entry with rowVec4 (lib/row_reads_*.wgsl).
fn keyRegs(j: u32, KW: u32, d0: u32, regs: ptr<function, array<vec4<f32>, ROW_REGS>>) {
  for (var m = 0u; m < rowRegCount(); m++) { (*regs)[m] = ks[j * KW + d0 + rowRegVec4(m)]; }
}
fn valueRegs(j: u32, KW: u32, d0: u32, regs: ptr<function, array<vec4<f32>, ROW_REGS>>) {
  for (var m = 0u; m < rowRegCount(); m++) { (*regs)[m] = vs[j * KW + d0 + rowRegVec4(m)]; }
}

// GQA: a workgroup's N query rows are (position, query head) pairs of ONE kv head, so each K/V
// tile it loads serves every head of the group (and a block spans N / G positions, not N:
// less of the causal diagonal is computed and masked). Of G = H / KVH heads it takes GW =
// min(G, N) (grid y = KVH · ceil(G / GW)) at P = floor(N / GW) positions; row i is position
// q0 + i / GW of head h0 + i % GW (attention.ts queryRowGrid computes the same, for the grid).
// Blocks end at T, so where P does not divide T the partly filled block is the first one
// (positions [0, T mod P), few keys), not the last (which would see every key).
struct QueryBlock { kh: u32, h0: u32, hEnd: u32, GW: u32, P: u32, lo: u32, pad: u32, q0: u32, end: u32 }
fn queryBlock(wid: vec3<u32>, T: u32, H: u32, KVH: u32, N: u32) -> QueryBlock {
  let G = H / KVH;
  let GW = min(G, N);
  let NG = (G + GW - 1u) / GW; // workgroups per kv head
  let kh = wid.y / NG;
  let h0 = kh * G + (wid.y % NG) * GW;
  let P = N / GW;
  let pad = ((T + P - 1u) / P) * P - T; // positions before 0 in the first block
  let lo = wid.x * P;                   // the block's first position + pad
  // q0: the block's first real position; end: one past its last (the keys it needs end there).
  return QueryBlock(kh, h0, min(h0 + GW, (kh + 1u) * G), GW, P, lo, pad, max(lo, pad) - pad, lo + P - pad);
}
// Row i of block qb: its position t and head h, clamped to a real row of the block (rows before
// position 0, past the block or past the group compute a copy of one and write nothing: live false).
struct QueryRow { t: u32, h: u32, live: bool }
fn queryRow(qb: QueryBlock, i: u32) -> QueryRow {
  let pos = i / qb.GW;
  let h = qb.h0 + i % qb.GW;
  let v = qb.lo + min(pos, qb.P - 1u);
  let live = pos < qb.P && v >= qb.pad && h < qb.hEnd;
  return QueryRow(max(v, qb.pad) - qb.pad, select(qb.h0, h, h < qb.hEnd), live);
}
