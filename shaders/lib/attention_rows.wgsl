// lib/attention_rows: what the row kernels (attention_forward_rows, attention_backward_dq_rows,
// attention_backward_dkdv_rows: several rows per row slot, D % 4 == 0, D <= 256) share: the private
// row length, the split of a row across lanes, and the reductions of their vec4 dot-product
// accumulators. The kernel declares `override WG, DMAX`, `alias LanePart` (what a lane sums per
// tile entry) and the uniform p (p.D); it or lib/attention_key_rows declares `override KMAX`.
const D4MAX: u32 = 16u;   // private row length in vec4: 64 floats per invocation
// Loops run to the constant DS4 (rows zero-padded past D) so the compiler can unroll them
// and keep the private rows in registers.
override DM4: u32 = DMAX / 4u;
override DS4: u32 = DM4;  // vec4 of a row per invocation (<= D4MAX)

// SPLIT false (D <= 64): one invocation holds whole rows, and every split-only branch below and
// in the kernels is constant-false, so these pipelines compile and run as plain whole-row code.
// SPLIT true (the one pipeline set for D in (64, 256]): a row is split across S lanes
// (invocations): lane l owns the vec4s [l·DS4, (l+1)·DS4), so the private rows stay DS4 vec4 at
// any head dim. Invocation tid is lane tid / R of row slot tid % R (R = WG / S slots, each with
// rows r, r + R, ...): a lane's tile reads hit one address across runs of R neighbouring
// invocations (llvmpipe's compiler cannot prove that and emits gathers, likely why the split
// pipelines cost more to compile than the whole-row ones). Lanes meet in workgroup memory (`part`) once per tile to sum their partial dot
// products; the partials go straight there, not through a dynamically indexed private array
// (which llvmpipe compiles slowly).
override SPLIT: bool = false;
override PARTN: u32 = 1u;  // WG · KMAX when SPLIT, else 1
var<workgroup> part: array<LanePart, PARTN>;

// Lanes per row S: 1, or with SPLIT the least power of two whose lanes of DS4 vec4 hold p.D
// (attention.ts rowKernelLayout computes the same, for the grid). Uniform: p is a uniform.
fn rowLanes() -> u32 {
  if (!SPLIT) { return 1u; }
  var s = 1u;
  while (s * DS4 * 4u < p.D) { s *= 2u; }
  return s;
}

// This invocation's row slot and its lane's first vec4 of the row.
fn rowSlot(tid: u32) -> u32 { return select(tid, tid % (WG / rowLanes()), SPLIT); }
fn laneStart(tid: u32) -> u32 { return select(0u, (tid / (WG / rowLanes())) * DS4, SPLIT); }

// Real vec4 of the row in the lane starting at vec4 d0 (0 for a lane wholly past D).
fn laneVec4s(D4: u32, d0: u32) -> u32 { return select(D4, min(DS4, max(D4, d0) - d0), SPLIT); }

// Vec4 per row in a workgroup tile (K/V or Q/dout): DM4, or with SPLIT the lanes' span S·DS4
// of head dim p.D, so head dims below DMAX pack more rows into the same memory (D = 128: twice
// D = 256's, as far as the kernel's `override KMAX`, which the launcher sizes so the lane sums
// fit too).
fn tileRowVec4s() -> u32 { return select(DM4, rowLanes() * DS4, SPLIT); }
// Rows per tile for a tile of n rows at DMAX.
fn tileRows(n: u32) -> u32 { return select(n, min(KMAX, n * DM4 / tileRowVec4s()), SPLIT); }

// Sums, in lane order, each row slot's lane partials of tile entries [0, n) (written to
// part[j·WG + tid] before a workgroupBarrier) into lane 0's slot part[j·WG + r]; lane j % S
// sums entry j, so a lane reads S partials per S entries rather than per entry (every lane
// needs every sum). Call with every invocation; a workgroupBarrier, then laneSum reads them.
fn reduceLanes(n: u32, tid: u32) {
  let S = rowLanes();
  let R = WG / S;
  let r = tid % R;
  for (var j = tid / R; j < n; j += S) {
    var s = part[j * WG + r];
    for (var l = 1u; l < S; l++) { s += part[j * WG + l * R + r]; }
    part[j * WG + r] = s;
  }
}

// Row slot r's sum of tile entry j (after reduceLanes and a workgroupBarrier).
fn laneSum(j: u32, r: u32) -> LanePart { return part[j * WG + r]; }

// The backward kernels' lane sums with split rows (two rows per slot): a lane's (dot, dot) pairs
// x = (q·k rows, dout·v rows) in one vec4 (packPairs), and a slot's sum of them back (unpackPairs).
fn packPairs(x: array<vec4<f32>, 2>) -> vec4<f32> { return vec4<f32>(x[0].xy, x[1].xy); }
fn unpackPairs(y: vec4<f32>) -> array<vec4<f32>, 2> { return array<vec4<f32>, 2>(vec4<f32>(y.xy, 0.0, 0.0), vec4<f32>(y.zw, 0.0, 0.0)); }

// Sum of a vec4 dot-product accumulator, in the order every row kernel uses.
fn hsum4(x: vec4<f32>) -> f32 {
  return (x.x + x.y) + (x.z + x.w);
}

// (P, dS) of one (query, key) pair in the backward row kernels, from q·k·scale (sc) and
// dout·v (dp) and the query's stats st = (lse, Dl):
// P = exp(q·k·scale - lse) (0 if masked), dS = P · (dout·v - Dl).
fn rowProbGrad(sc: f32, dp: f32, st: vec2<f32>, visible: bool) -> vec2<f32> {
  let pr = select(0.0, exp(sc - st.x), visible);
  return vec2<f32>(pr, pr * (dp - st.y));
}
