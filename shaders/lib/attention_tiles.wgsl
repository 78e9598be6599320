// lib/attention_tiles: the workgroup tiles of the attention tile kernels (attention_forward,
// attention_backward_dq, attention_backward_dkdv), the key tile load and the mask (with the
// kernel's `p.window`, lib/window's inWindow). A key tile
// holds BC keys of kv head kh (k, v and their segment ids); a query tile holds BR query rows of
// one head. The kernel declares `override WG, BR, BC, DMAX` and the bindings seg, k, v. Keys
// past T load zeros and segment id 0xfffffffe (queries past T get 0xffffffff: never equal).
// The backward kernels also prepend lib/attention_tiles_backward.wgsl (the query tile load).
// Workgroup memory, counted only for the arrays a kernel uses: ks, vs (BC·DMAX each),
// segk (BC); qs, dos (BR·DMAX each), segq, lrow, drow (BR each).

var<workgroup> ks: array<f32, BC * DMAX>;
var<workgroup> vs: array<f32, BC * DMAX>;
var<workgroup> segk: array<u32, BC>;
var<workgroup> qs: array<f32, BR * DMAX>;
var<workgroup> dos: array<f32, BR * DMAX>;   // dout rows (backward kernels)
var<workgroup> segq: array<u32, BR>;
var<workgroup> lrow: array<f32, BR>;         // lse per row (backward); the forward keeps its running denominator here
var<workgroup> drow: array<f32, BR>;         // Dl = dout·out per row (backward kernels)

// ks, vs, segk <- keys [k0, k0 + BC) of kv head kh, batch b.
fn loadKeyTile(b: u32, k0: u32, kh: u32, T: u32, KVH: u32, D: u32, tid: u32) {
  for (var e = tid; e < BC * D; e += WG) {
    let s = k0 + e / D;
    let gi = ((b * T + s) * KVH + kh) * D + e % D;
    ks[e] = select(0.0, k[gi], s < T);
    vs[e] = select(0.0, v[gi], s < T);
  }
  for (var j = tid; j < BC; j += WG) {
    let s = k0 + j;
    segk[j] = select(0xfffffffeu, seg[b * T + s], s < T);
  }
}

// Whether query row i (position t) of the tile sees key j (position s): causal within the
// window (p.window), in range, same segment.
fn tileVisible(i: u32, j: u32, t: u32, s: u32, T: u32) -> bool {
  return inWindow(t, s, p.window) && t < T && s < T && segk[j] == segq[i];
}
