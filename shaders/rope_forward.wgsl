// rope_forward: rotary position embedding, Hugging Face rotate_half layout, in place.
// For token bt, head h, i < D/2, angle a = f32(pos[bt]) · invFreq[i] (rounded to f32 as HF does):
//   forward (p.transpose = 0): x1' = x1·cos a − x2·sin a,  x2' = x2·cos a + x1·sin a
//   backward (p.transpose = 1, the transposed rotation): dx1 = d1·cos a + d2·sin a,
//                                                         dx2 = d2·cos a − d1·sin a
// where x1 = x[bt, h, i], x2 = x[bt, h, i + D/2]. Used for q (NH = H) and k (NH = KVH);
// entry point main_qk rotates q (NH heads) and k (NK heads) in one dispatch, q's pairs first.
// Shapes: x [BT, NH, D] f32 (rotated in place); main_qk also xk [BT, NK, D]; invFreq [D/2] f32
// (plain or llama3-scaled, computed on the CPU); pos [BT] u32 (per token, so packed sequences
// restart at 0).
// Bindings: main: 0 x (rw), 1 invFreq (r), 2 pos (r), 3 params {BT, NH, D, transpose, NK};
//   main_qk: 0 x, 1 invFreq, 2 pos, 3 xk (rw), 4 params. The two entry points give binding 3
//   different variables (allowed: each pipeline's interface has one).
override WG: u32 = 256;

struct Params { BT: u32, NH: u32, D: u32, transpose: u32, NK: u32 }

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> invFreq: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> xk: array<f32>;
@group(0) @binding(4) var<uniform> pqk: Params;

// WGSL only promises sin/cos to 2^-11 absolute error inside [-π, π] (SwiftShader in Chrome is
// about that coarse) and nothing outside, while angles reach thousands of radians. So the
// angle is reduced by π/2 in three parts (Cody–Waite; DP1 has 8 significant bits, so j·DP1 is
// exact for j < 2^16) and sin/cos come from Cephes' single-precision minimax polynomials on
// [-π/4, π/4], using only correctly rounded multiplies and adds: a few ulp on every GPU.
const TWO_OVER_PI: f32 = 0.6366197723675814;
const DP1: f32 = 1.5703125;
const DP2: f32 = 4.837512969970703125e-4;
const DP3: f32 = 7.54978995489188216e-8;

// (sin a, cos a)
fn sincos(a: f32) -> vec2<f32> {
  let j = round(a * TWO_OVER_PI);
  let r = ((a - j * DP1) - j * DP2) - j * DP3;
  let z = r * r;
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  let q = i32(j) & 3; // quadrant; & on two's complement keeps negative j right
  switch q {
    case 0: { return vec2<f32>(s, c); }
    case 1: { return vec2<f32>(c, -s); }
    case 2: { return vec2<f32>(-s, -c); }
    default: { return vec2<f32>(-c, s); }
  }
}

// Pair idx (< BT·nh·D/2) of a tensor of nh heads: the index of its first element, and
// (cos a, ±sin a) — the sign flipped for the backward's transposed rotation.
struct Rotation { j: u32, c: f32, s: f32 }
fn rotation(P: Params, idx: u32, nh: u32) -> Rotation {
  let half = P.D / 2u;
  let i = idx % half;
  let row = idx / half; // bt·nh + h
  let bt = row / nh;
  let a = f32(pos[bt]) * invFreq[i];
  let sc = sincos(a);
  return Rotation(row * P.D + i, sc.y, select(sc.x, -sc.x, P.transpose != 0u));
}
// The pair (x1, x2) rotated.
fn rotated(x1: f32, x2: f32, r: Rotation) -> vec2<f32> { return vec2<f32>(x1 * r.c - x2 * r.s, x2 * r.c + x1 * r.s); }

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let P = p;
  let half = P.D / 2u;
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= P.BT * P.NH * half) { return; }
  let r = rotation(P, idx, P.NH);
  let y = rotated(x[r.j], x[r.j + half], r);
  x[r.j] = y.x;
  x[r.j + half] = y.y;
}

@compute @workgroup_size(WG)
fn main_qk(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let P = pqk;
  let half = P.D / 2u;
  let idx = gid.x + gid.y * nwg.x * WG;
  let nq = P.BT * P.NH * half;
  if (idx < nq) {
    let r = rotation(P, idx, P.NH);
    let y = rotated(x[r.j], x[r.j + half], r);
    x[r.j] = y.x;
    x[r.j + half] = y.y;
  } else if (idx - nq < P.BT * P.NK * half) {
    let r = rotation(P, idx - nq, P.NK);
    let y = rotated(xk[r.j], xk[r.j + half], r);
    xk[r.j] = y.x;
    xk[r.j + half] = y.y;
  }
}
