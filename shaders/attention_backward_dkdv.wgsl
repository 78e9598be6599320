// attention_backward_dkdv: dk and dv of causal grouped-query attention, flash-attention-2
// style. One workgroup owns BC keys of one kv head and loops over every query head of its
// group and every query block that can see them, so GQA sums need no atomics.
//   P[t,s]  = exp(q[t]·k[s]·scale - lse[t])        (0 where s is masked)
//   dv[s]   = Σ_{h in group} Σ_t P[t,s] · dout[t]                     (OVERWRITES dv)
//   dk[s]   = scale · Σ_{h in group} Σ_t P[t,s]·(dout[t]·v[s] - Dl[t]) · q[t]   (OVERWRITES dk)
// Mask as in attention_forward: s <= t, t - s < window and seg[b,s] == seg[b,t].
// Shapes: dk, dv, k, v [B·T, KVH, D]; dout, q [B·T, H, D]; stats vec2 (lse, Dl) [B, H, T]; seg u32 [B·T].
// Bindings: 0 dk (rw), 1 dv (rw), 2 dout, 3 q, 4 k, 5 v, 6 stats (lse, Dl), 7 seg,
//           8 params {B,T,H,KVH,D,scale,window}
// The launcher prepends lib/window.wgsl (inWindow) + lib/segments.wgsl (segmentEnd: one past the last query tile to visit) and
// lib/attention_tiles.wgsl + lib/attention_tiles_backward.wgsl (the tiles, their loads, tileProbGrad).
// Grid: (ceil(T/BC), KVH, B). Workgroup memory: (2·BC + 2·BR)·DMAX + 2·BR·BC + 3·BR + BC + 2 words.
// Query tiles after the segment of the block's last key are skipped (segment ids are
// contiguous runs with distinct ids, see attention_forward).
override WG: u32 = 128;
override BR: u32 = 8;   // query rows per inner tile
override BC: u32 = 16;  // keys owned by the workgroup
override DMAX: u32 = 64;
const OMAX: u32 = 8u;   // BC·D <= OMAX·WG (checked by the launcher)

struct Params { B: u32, T: u32, H: u32, KVH: u32, D: u32, scale: f32, window: u32 }

@group(0) @binding(0) var<storage, read_write> dk: array<f32>;
@group(0) @binding(1) var<storage, read_write> dv: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;
@group(0) @binding(6) var<storage, read> stats: array<vec2<f32>>; // (lse, Dl)
@group(0) @binding(7) var<storage, read> seg: array<u32>;
@group(0) @binding(8) var<uniform> p: Params;

var<workgroup> ps: array<f32, BR * BC>;
var<workgroup> ds: array<f32, BR * BC>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let T = p.T; let H = p.H; let KVH = p.KVH; let D = p.D;
  // Accumulator slots in use. A runtime trip count on purpose: with the constant OMAX,
  // llvmpipe unrolls everything and its JIT takes ~6x longer; GPUs lose little.
  let nOut = (BC * D + WG - 1u) / WG;
  let k0 = wid.x * BC;
  let kh = wid.y;
  let b = wid.z;
  let group = H / KVH;

  loadKeyTile(b, k0, kh, T, KVH, D, tid);
  var accK: array<f32, OMAX>;
  var accV: array<f32, OMAX>;
  for (var r = 0u; r < nOut; r++) { accK[r] = 0.0; accV[r] = 0.0; }

  let qStart = (k0 / BR) * BR; // causal: no query before the block's first key
  // Query tiles past the segment or the window of the block's last key are skipped.
  let kLast = min(k0 + BC, T) - 1u;
  let qEnd = min(segmentEnd(b, kLast, T, tid), kLast + p.window);
  for (var h = kh * group; h < (kh + 1u) * group; h++) {
    for (var q0 = qStart; q0 < qEnd; q0 += BR) {
      workgroupBarrier();
      loadQueryTile(b, q0, h, T, H, D, tid);
      workgroupBarrier();
      for (var e = tid; e < BR * BC; e += WG) {
        let i = e / BC; let j = e % BC;
        let t = q0 + i; let s = k0 + j;
        let g = tileProbGrad(i, j, t, s, T, D);
        ps[e] = g.x;
        ds[e] = g.y;
      }
      workgroupBarrier();
      for (var r = 0u; r < nOut; r++) {
        let e = tid + r * WG;
        if (e < BC * D) {
          let j = e / D; let d = e % D;
          var gk = 0.0;
          var gv = 0.0;
          for (var i = 0u; i < BR; i++) {
            gk += ds[i * BC + j] * qs[i * D + d];
            gv += ps[i * BC + j] * dos[i * D + d];
          }
          accK[r] += gk;
          accV[r] += gv;
        }
      }
    }
  }
  for (var r = 0u; r < nOut; r++) {
    let e = tid + r * WG;
    if (e < BC * D) {
      let s = k0 + e / D;
      if (s < T) {
        let gi = ((b * T + s) * KVH + kh) * D + e % D;
        dk[gi] = accK[r] * p.scale;
        dv[gi] = accV[r];
      }
    }
  }
}
