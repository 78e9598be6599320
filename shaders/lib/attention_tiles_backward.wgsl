// lib/attention_tiles_backward: the query tile load and the recomputed probabilities of the
// backward tile kernels (attention_backward_dq, attention_backward_dkdv), on the tiles of
// lib/attention_tiles.wgsl (prepended with it). The kernel declares the bindings q, dout,
// stats (lse, Dl) and seg, and `p: Params` (scale).

// qs, dos, segq, lrow, drow <- queries [q0, q0 + BR) of head h, batch b (backward kernels).
fn loadQueryTile(b: u32, q0: u32, h: u32, T: u32, H: u32, D: u32, tid: u32) {
  for (var e = tid; e < BR * D; e += WG) {
    let t = q0 + e / D;
    let gi = ((b * T + t) * H + h) * D + e % D;
    qs[e] = select(0.0, q[gi], t < T);
    dos[e] = select(0.0, dout[gi], t < T);
  }
  for (var i = tid; i < BR; i += WG) {
    let t = q0 + i;
    let ri = (b * H + h) * T + t;
    segq[i] = select(0xffffffffu, seg[b * T + t], t < T);
    let st = select(vec2<f32>(0.0), stats[ri], t < T);
    lrow[i] = st.x;
    drow[i] = st.y;
  }
}

// (P, dS) of query row i and key j of the loaded tiles, recomputed from the saved lse:
// P = exp(q·k·scale - lse) (0 if masked), dS = P · (dout·v - Dl).
fn tileProbGrad(i: u32, j: u32, t: u32, s: u32, T: u32, D: u32) -> vec2<f32> {
  var sc = 0.0;
  var dp = 0.0;
  for (var d = 0u; d < D; d++) {
    sc += qs[i * D + d] * ks[j * D + d];
    dp += dos[i * D + d] * vs[j * D + d];
  }
  let pr = select(0.0, exp(sc * p.scale - lrow[i]), tileVisible(i, j, t, s, T));
  return vec2<f32>(pr, pr * (dp - drow[i]));
}
