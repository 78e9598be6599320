// lib/attention_rows: what the row kernels (attention_forward_rows, attention_backward_dq_rows,
// attention_backward_dkdv_rows: two rows per row slot, D % 4 == 0, D <= 256) share: the split of
// a row across lanes, the private row length, and the reductions of their vec4 dot-product
// accumulators. The kernel declares `override WG, DMAX`.
//
// A row is split across S lanes (invocations) of the workgroup: lane l owns the vec4s
// [l·DS4, (l+1)·DS4) of it, so each invocation's private rows hold DS4 vec4 at any head dim
// (on GPUs whole rows of D = 128/256 would spill registers and collapse occupancy). Invocation
// tid is lane tid / R of row slot tid % R (R = WG / S slots, each with rows r and r + R): a
// lane is uniform across neighbouring invocations, so K/V reads stay broadcasts. Lanes meet
// in workgroup memory (`part`) once per tile to sum their partial dot products.
// The launcher prepends `const D4MAX: u32 = DS4;` (private row length, a constant so the
// compiler can keep the rows in registers); loops run to the constant DS4 (rows zero-padded
// past D) so the compiler unrolls them. (Loops to a lane's real length, with the rows in private
// memory, compiled slower on llvmpipe and ran slower.)
override DM4: u32 = DMAX / 4u;
override DS4: u32 = DM4;       // vec4 of a row per lane (<= D4MAX)
// Lanes per row: LANES (1: whole rows), or with LANES = 0 as many as head dim p.D needs, so one
// pipeline serves every head dim of its class (see rowLanes).
override LANES: u32 = 1u;
override PARTN: u32 = 1u;      // WG · (keys or queries per tile) when rows split, else 1
var<workgroup> part: array<vec4<f32>, PARTN>;
// Lanes per row S: LANES, else the least power of two whose lanes of DS4 vec4 hold p.D
// (attention.ts rowKernelLayout computes the same, for the grid). Uniform: p is a uniform.
fn rowLanes() -> u32 {
  if (LANES != 0u) { return LANES; }
  var s = 1u;
  while (s * DS4 * 4u < p.D) { s *= 2u; }
  return s;
}

// Real vec4 of the row in the lane starting at vec4 d0 (0 for a lane wholly past D).
fn laneVec4s(D4: u32, d0: u32) -> u32 { return min(DS4, max(D4, d0) - d0); }

// Sum of a vec4 dot-product accumulator, in the order every row kernel uses.
fn hsum4(x: vec4<f32>) -> f32 {
  return (x.x + x.y) + (x.z + x.w);
}

const NMAX: u32 = 32u;         // private slots for a tile's keys (queries): BC (BR) <= NMAX

// x[j], j < n: this lane's partial sums for the tile's entry j, replaced by their sum over the
// row's S lanes in lane order (so every lane holds the same sum; nothing to do when S == 1).
// Call from uniform control flow with every invocation and the same n.
fn laneSums(x: ptr<function, array<vec4<f32>, NMAX>>, n: u32, tid: u32, r: u32) {
  let S = rowLanes();
  let R = WG / S;
  if (S == 1u) { return; }
  for (var j = 0u; j < n; j++) { part[j * WG + tid] = (*x)[j]; }
  workgroupBarrier();
  for (var j = 0u; j < n; j++) {
    var s = part[j * WG + r];
    for (var l = 1u; l < S; l++) { s += part[j * WG + l * R + r]; }
    (*x)[j] = s;
  }
}

// (P, dS) of one (query, key) pair in the backward row kernels, from q·k·scale (sc) and
// dout·v (dp) and the query's stats st = (lse, Dl):
// P = exp(q·k·scale - lse) (0 if masked), dS = P · (dout·v - Dl).
fn rowProbGrad(sc: f32, dp: f32, st: vec2<f32>, visible: bool) -> vec2<f32> {
  let pr = select(0.0, exp(sc - st.x), visible);
  return vec2<f32>(pr, pr * (dp - st.y));
}
