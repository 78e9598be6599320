// rope_forward: rotary position embedding, Hugging Face rotate_half layout, in place.
// For token bt, head h, i < D/2, angle a = f32(pos[bt]) · invFreq[i] (rounded to f32 as HF does):
//   forward (p.transpose = 0): x1' = x1·cos a − x2·sin a,  x2' = x2·cos a + x1·sin a
//   backward (p.transpose = 1, the transposed rotation): dx1 = d1·cos a + d2·sin a,
//                                                         dx2 = d2·cos a − d1·sin a
// where x1 = x[bt, h, i], x2 = x[bt, h, i + D/2]. Used for q (NH = H) and k (NH = KVH).
// Shapes: x [BT, NH, D] f32 (rotated in place); invFreq [D/2] f32 (plain or llama3-scaled,
// computed on the CPU); pos [BT] u32 (per token, so packed sequences restart at 0).
// Bindings: 0 x (rw), 1 invFreq (r), 2 pos (r), 3 params {BT, NH, D, transpose}
override WG: u32 = 256;

struct Params { BT: u32, NH: u32, D: u32, transpose: u32 }

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> invFreq: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

// 2π split in three parts (Cody–Waite): P1 has 8 significant bits so k·P1 is exact for k < 2^16.
const INV_TWO_PI: f32 = 0.15915494309189535;
const P1: f32 = 6.28125;
const P2: f32 = 0.0019353071693331003;  // exactly representable in f32
const P3: f32 = 1.0253376606378075e-11;  // 2π − P1 − P2

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let half = p.D / 2u;
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.BT * p.NH * half) { return; }
  let i = idx % half;
  let row = idx / half; // bt·NH + h
  let bt = row / p.NH;
  let a = f32(pos[bt]) * invFreq[i];
  // GPU sin/cos are only accurate near [−π, π]: reduce the angle first (positions reach thousands).
  let k = round(a * INV_TWO_PI);
  let r = ((a - k * P1) - k * P2) - k * P3;
  let c = cos(r);
  let s = select(sin(r), -sin(r), p.transpose != 0u);
  let j = row * p.D + i;
  let x1 = x[j];
  let x2 = x[j + half];
  x[j] = x1 * c - x2 * s;
  x[j + half] = x2 * c + x1 * s;
}
