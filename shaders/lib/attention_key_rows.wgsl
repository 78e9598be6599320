// lib/attention_key_rows: the K/V tile of the query-row kernels (attention_forward_rows,
// attention_backward_dq_rows): tileRows(BC) keys of kv head kh as vec4 rows of tileRowVec4s()
// (zero-padded past D), read as broadcasts by every invocation. Prepended with
// lib/attention_rows.wgsl (DM4, tileRowVec4s, tileRows). The kernel declares `override WG, BC, DMAX`
// and the bindings seg, k, v (array<vec4<f32>>). Keys past T load zeros and segment id
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

// GQA: a workgroup's 2·R query rows are (position, query head) pairs of ONE kv head, so each K/V
// tile it loads serves every head of the group (and a block spans 2·R / G positions, not 2·R:
// less of the causal diagonal is computed and masked). Of G = H / KVH heads it takes GW =
// min(G, 2·R) (grid y = KVH · ceil(G / GW)) at P = floor(2·R / GW) positions; row i is position
// q0 + i / GW of head h0 + i % GW (attention.ts queryRowGrid computes the same, for the grid).
struct QueryBlock { kh: u32, h0: u32, hEnd: u32, GW: u32, P: u32 }
fn queryBlock(wy: u32, H: u32, KVH: u32, R: u32) -> QueryBlock {
  let G = H / KVH;
  let GW = min(G, 2u * R);
  let NG = (G + GW - 1u) / GW; // workgroups per kv head
  let kh = wy / NG;
  let h0 = kh * G + (wy % NG) * GW;
  return QueryBlock(kh, h0, min(h0 + GW, (kh + 1u) * G), GW, (2u * R) / GW);
}
// Row i of block qb starting at position q0: its position t and head h, clamped to a real row
// (rows past T, past the block or past the group compute a copy of one and write nothing: live false).
struct QueryRow { t: u32, h: u32, live: bool }
fn queryRow(qb: QueryBlock, q0: u32, i: u32, T: u32) -> QueryRow {
  let pos = i / qb.GW;
  let h = qb.h0 + i % qb.GW;
  let live = pos < qb.P && q0 + pos < T && h < qb.hEnd;
  return QueryRow(min(q0 + min(pos, qb.P - 1u), T - 1u), select(qb.h0, h, h < qb.hEnd), live);
}
