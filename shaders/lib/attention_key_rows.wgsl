// lib/attention_key_rows: the K/V tile of the query-row kernels (attention_forward_rows,
// attention_backward_dq_rows): BC keys of kv head kh as vec4 rows of DM4 = DMAX/4 (zero-padded
// past D), read as broadcasts by every invocation. Prepended with lib/attention_rows.wgsl (DM4).
// The kernel declares `override WG, BC, DMAX` and the bindings seg, k, v (array<vec4<f32>>).
// Keys past T load zeros and segment id 0xfffffffe. Workgroup memory: 2·BC·DMAX + BC words.

var<workgroup> ks: array<vec4<f32>, BC * DMAX / 4u>;
var<workgroup> vs: array<vec4<f32>, BC * DMAX / 4u>;
var<workgroup> segk: array<u32, BC>;

// ks, vs, segk <- keys [k0, k0 + BC) of kv head kh, batch b (D4 = D/4 real vec4 per row).
fn loadKeyRows(b: u32, k0: u32, kh: u32, T: u32, KVH: u32, D4: u32, tid: u32) {
  for (var e = tid; e < BC * DM4; e += WG) {
    let s = k0 + e / DM4;
    let d = e % DM4;
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
  for (var j = tid; j < BC; j += WG) {
    let s = k0 + j;
    segk[j] = select(0xfffffffeu, seg[b * T + min(s, T - 1u)], s < T);
  }
}
