// attention_backward_stats: per-row statistics the flash-attention-2 backward reads,
// packed in one buffer so the dk/dv kernel stays within 8 storage buffers:
//   stats[b,h,t] = (lse[b,h,t], Dl[b,h,t]),  Dl = Σ_d dout[b,t,h,d]·out[b,t,h,d] (= Σ_s P·dP)
// Shapes: stats vec2 [B, H, T]; dout, out [B·T, H, D]; lse [B, H, T].
// Bindings: 0 stats (rw), 1 dout, 2 out, 3 lse, 4 params {B,T,H,D}
// VEC4_ORDER requires D % 4 == 0.
// Grid: one invocation per (b, t, h) row, 2-D so B·T·H may exceed 65535·WG.
override WG: u32 = 64;
// Summation order of Dl: false = sequential over d (as the tile kernels compute dout·v),
// true = four interleaved fma partial sums combined (s0+s1)+(s2+s3) per slice of SLICE4 vec4,
// the slices' sums added in order, as the vec4 row kernels compute it (a slice per lane of a
// row). Matching orders make dS = P·(dout·v - Dl) exactly 0 where out = v (T = 1).
override VEC4_ORDER: bool = false;
override SLICE4: u32 = 64u;

struct Params { B: u32, T: u32, H: u32, D: u32 }

@group(0) @binding(0) var<storage, read_write> stats: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> out: array<f32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG; // row = (b·T + t)·H + h, the layout of dout/out
  if (row >= p.B * p.T * p.H) { return; }
  let h = row % p.H;
  let bt = row / p.H;
  let t = bt % p.T;
  let b = bt / p.T;
  var s = 0.0;
  if (VEC4_ORDER) {
    for (var d0 = 0u; d0 < p.D; d0 += 4u * SLICE4) {
      var acc = vec4<f32>(0.0);
      for (var d = d0; d < min(p.D, d0 + 4u * SLICE4); d += 4u) {
        let i = row * p.D + d;
        acc = fma(vec4<f32>(dout[i], dout[i + 1u], dout[i + 2u], dout[i + 3u]), vec4<f32>(out[i], out[i + 1u], out[i + 2u], out[i + 3u]), acc);
      }
      s += (acc.x + acc.y) + (acc.z + acc.w);
    }
  } else {
    for (var d = 0u; d < p.D; d++) { s += dout[row * p.D + d] * out[row * p.D + d]; }
  }
  let ri = (b * p.H + h) * p.T + t;
  stats[ri] = vec2<f32>(lse[ri], s);
}
