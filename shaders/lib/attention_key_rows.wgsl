// lib/attention_key_rows: the K/V tile of the query-row kernels (attention_forward_rows,
// attention_backward_dq_rows): tileKeys() keys of kv head kh as vec4 rows of keyRowVec4s()
// (zero-padded past D), read as broadcasts by every invocation. Prepended with
// lib/attention_rows.wgsl (DM4, DS4, SPLIT, rowLanes). The kernel declares `override WG, BC, DMAX`
// and the bindings seg, k, v (array<vec4<f32>>). Keys past T load zeros and segment id
// 0xfffffffe. Workgroup memory: 2·BC·DMAX + KMAX words.
override KMAX: u32 = BC;  // most keys a tile holds (segk): BC, or with SPLIT up to BC·DM4 / (2·DS4)

// Vec4 per key row in the tile: DM4, or with SPLIT the lanes' span S·DS4 of head dim p.D, so
// head dims below DMAX pack more keys into the same memory (D = 128: twice D = 256's, as far
// as KMAX, which the launcher sizes so the lane sums fit too).
fn keyRowVec4s() -> u32 { return select(DM4, rowLanes() * DS4, SPLIT); }
fn tileKeys() -> u32 { return select(BC, min(KMAX, BC * DM4 / keyRowVec4s()), SPLIT); }

var<workgroup> ks: array<vec4<f32>, BC * DMAX / 4u>;
var<workgroup> vs: array<vec4<f32>, BC * DMAX / 4u>;
var<workgroup> segk: array<u32, KMAX>;

// ks, vs, segk <- keys [k0, k0 + tileKeys()) of kv head kh, batch b (D4 = D/4 real vec4 per row).
fn loadKeyRows(b: u32, k0: u32, kh: u32, T: u32, KVH: u32, D4: u32, tid: u32) {
  let W = keyRowVec4s();
  let n = tileKeys();
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
