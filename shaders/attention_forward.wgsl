// attention_forward: causal grouped-query self-attention, flash-attention style.
//   out[b,t,h,:] = Σ_s softmax_s(q[b,t,h]·k[b,s,kh]·scale + mask) · v[b,s,kh,:]
//   lse[b,h,t]   = log Σ_s exp(q·k·scale) over visible s (saved for the backward pass)
// kh = h / (H/KVH), scale = 1/sqrt(D) unless the launcher gives another. Key s is visible to
// query t iff s <= t, t - s < window (a sliding window of `window` keys; T for full attention)
// and seg[b,s] == seg[b,t] (packed sequences and padding; the diagonal is always visible).
// Segment ids must be contiguous runs, each run's id distinct from the row's other runs: key
// tiles before the segment or the window of the block's first row are skipped, not just
// masked (a sliding-window layer costs ~T·window, not T²).
// Shapes: q, out [B·T, H, D]; k, v [B·T, KVH, D]; lse [B, H, T]; seg u32 [B·T].
// Bindings: 0 out (rw), 1 lse (rw), 2 q, 3 k, 4 v, 5 seg, 6 params {B,T,H,KVH,D,scale,window}
// The launcher prepends lib/window.wgsl + lib/segments.wgsl (windowStart, segmentStart: the first key tile to visit) and
// lib/attention_tiles.wgsl (the tiles qs, ks, vs, segq, segk, lrow and loadKeyTile).
// Grid: (ceil(T/BR), H, B); one workgroup owns BR query rows of one head and streams
// key/value tiles of BC rows through workgroup memory with an online softmax, so no
// [T, T] matrix ever exists. Workgroup memory: (BR + 2·BC)·DMAX + BR·BC + 4·BR + BC + 2 words.
override WG: u32 = 128;   // invocations per workgroup
override BR: u32 = 16;    // query rows per workgroup
override BC: u32 = 16;    // keys per tile
override DMAX: u32 = 64;  // head dim the tiles are sized for (D <= DMAX)
const OMAX: u32 = 8u;     // output elements per invocation: BR·D <= OMAX·WG (checked by the launcher)
const NEG: f32 = -1e30;   // masked score; tested with > -1e29 so exp never sees it

struct Params { B: u32, T: u32, H: u32, KVH: u32, D: u32, scale: f32, window: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read> seg: array<u32>;
@group(0) @binding(6) var<uniform> p: Params;

// qs, ks, vs, segq, segk and lrow (the running softmax denominator per row) are lib/attention_tiles'.
var<workgroup> sp: array<f32, BR * BC>;   // scores, then probabilities of the current tile
var<workgroup> mrow: array<f32, BR>;      // running max per row
var<workgroup> arow: array<f32, BR>;      // rescale factor of the current tile per row

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let T = p.T; let H = p.H; let KVH = p.KVH; let D = p.D;
  // Accumulator slots in use. A runtime trip count on purpose: with the constant OMAX,
  // llvmpipe unrolls everything and its JIT takes ~6x longer; GPUs lose little.
  let nOut = (BR * D + WG - 1u) / WG;
  let q0 = wid.x * BR;
  let h = wid.y;
  let b = wid.z;
  let kh = h / (H / KVH);

  for (var e = tid; e < BR * D; e += WG) {
    let i = e / D; let t = q0 + i;
    qs[e] = select(0.0, q[((b * T + t) * H + h) * D + e % D], t < T);
  }
  for (var i = tid; i < BR; i += WG) {
    let t = q0 + i;
    segq[i] = select(0xffffffffu, seg[b * T + t], t < T);
    mrow[i] = NEG;
    lrow[i] = 0.0;
  }
  var acc: array<f32, OMAX>;
  for (var r = 0u; r < nOut; r++) { acc[r] = 0.0; }

  let kEnd = min(T, q0 + BR); // causal: no key beyond the block's last query
  // Key tiles before the segment or the window of the block's first row are skipped.
  let kStart = (segmentStart(b, q0, T, tid, windowStart(q0, p.window)) / BC) * BC;
  for (var k0 = kStart; k0 < kEnd; k0 += BC) {
    workgroupBarrier();
    loadKeyTile(b, k0, kh, T, KVH, D, tid);
    workgroupBarrier();
    for (var e = tid; e < BR * BC; e += WG) {
      let i = e / BC; let j = e % BC;
      let t = q0 + i; let s = k0 + j;
      var dot = 0.0;
      for (var d = 0u; d < D; d++) { dot += qs[i * D + d] * ks[j * D + d]; }
      sp[e] = select(NEG, dot * p.scale, tileVisible(i, j, t, s, T));
    }
    workgroupBarrier();
    // Online softmax: new max, probabilities, and the factor that rescales what came before.
    for (var i = tid; i < BR; i += WG) {
      let mOld = mrow[i];
      var mNew = mOld;
      for (var j = 0u; j < BC; j++) { mNew = max(mNew, sp[i * BC + j]); }
      var sum = 0.0;
      for (var j = 0u; j < BC; j++) {
        let sc = sp[i * BC + j];
        let pr = select(0.0, exp(sc - mNew), sc > -1e29);
        sp[i * BC + j] = pr;
        sum += pr;
      }
      let alpha = exp(mOld - mNew); // 1 while the row has seen nothing (both NEG)
      lrow[i] = lrow[i] * alpha + sum;
      mrow[i] = mNew;
      arow[i] = alpha;
    }
    workgroupBarrier();
    for (var r = 0u; r < nOut; r++) {
      let e = tid + r * WG;
      if (e < BR * D) {
        let i = e / D; let d = e % D;
        var o = acc[r] * arow[i];
        for (var j = 0u; j < BC; j++) { o += sp[i * BC + j] * vs[j * D + d]; }
        acc[r] = o;
      }
    }
  }
  workgroupBarrier();
  for (var r = 0u; r < nOut; r++) {
    let e = tid + r * WG;
    if (e < BR * D) {
      let i = e / D; let t = q0 + i;
      if (t < T) { out[((b * T + t) * H + h) * D + e % D] = acc[r] / lrow[i]; }
    }
  }
  for (var i = tid; i < BR; i += WG) {
    let t = q0 + i;
    if (t < T) { lse[(b * H + h) * T + t] = mrow[i] + log(lrow[i]); }
  }
}
