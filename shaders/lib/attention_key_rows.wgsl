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
