// matmul_backward_f16: the f16-weight variant of matmul_backward.wgsl (W stored as f16,
// products and sums in f32); used when the device has shader-f16. Otherwise identical.
// matmul_backward: input gradient of a linear layer with a frozen weight (no dW).
//   dinp[BT, C] (+)= dropout'(alpha · dout[BT, OC] · W[OC, C])
// One dispatch covers a row chunk of dout/dinp (M ≤ BT rows) and a row range of W
// (K ≤ OC rows of W = K columns of dout starting where doutOff points, row stride ldd), so a
// weight larger than one storage binding runs as several dispatches accumulating into dinp.
// N = C is never split. K-tiled GEMM with workgroup-memory tiles (vec4 along m / n) and an
// 8×8 register block per thread (8 consecutive rows × 8 consecutive columns of dinp).
// dropout' (the backward of LoRA's input dropout) multiplies by the same mask as the forward:
// keep(i) = hash(i ^ seedHash) >= dropThreshold, i = (dropRow0 + m)·N + n, scale dropScale.
// Bindings: 0 dinp (rw, [M, N]), 1 dout (r, row stride ldd), 2 weight (r, [K, N]), 3 params.
enable f16;

override WG_M: u32 = 8;  // threads along M (rows of dinp)
override WG_N: u32 = 8;  // threads along N (columns of dinp)
override BK: u32 = 16;   // K depth of one workgroup-memory tile
const TM = 8u;           // register block: rows per thread (const: WGSL function arrays need const sizes)
const TN = 8u;           // register block: columns per thread
override BM: u32 = WG_M * TM;
override BN: u32 = WG_N * TN;

struct Params {
  M: u32, N: u32, K: u32, ldd: u32,
  dinpOff: u32, doutOff: u32, wOff: u32, accumulate: u32,
  alpha: f32, dropThreshold: u32, dropScale: f32, seedHash: u32,
  dropRow0: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read_write> dinp: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f16>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> As: array<vec4<f32>, BK * BM / 4>; // [k][m/4]
var<workgroup> Bs: array<vec4<f32>, BK * BN / 4>; // [k][n/4]

fn hash32(x: u32) -> u32 {
  var v = x;
  v ^= v >> 16u; v *= 0x7feb352du;
  v ^= v >> 15u; v *= 0x846ca68bu;
  v ^= v >> 16u;
  return v;
}

@compute @workgroup_size(WG_N, WG_M)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let tx = lid.x;
  let ty = lid.y;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let nthreads = WG_M * WG_N;
  var acc: array<array<f32, TN>, TM>;
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    // dout tile: consecutive threads read consecutive k (contiguous in a dout row).
    for (var e = li; e < BM * BK; e += nthreads) {
      let m = e / BK;
      let k = e % BK;
      let gm = m0 + m;
      let gk = k0 + k;
      var v = 0.0;
      if (gm < p.M && gk < p.K) { v = dout[p.doutOff + gm * p.ldd + gk]; }
      As[k * (BM / 4u) + m / 4u][m % 4u] = v;
    }
    // W tile: consecutive threads read consecutive n (contiguous in a W row).
    for (var e = li; e < BN * BK; e += nthreads) {
      let k = e / BN;
      let n = e % BN;
      let gn = n0 + n;
      let gk = k0 + k;
      var v = 0.0;
      if (gn < p.N && gk < p.K) { v = f32(weight[p.wOff + gk * p.N + gn]); }
      Bs[e / 4u][e % 4u] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      let a0 = As[k * (BM / 4u) + ty * 2u];
      let a1 = As[k * (BM / 4u) + ty * 2u + 1u];
      let b0 = Bs[k * (BN / 4u) + tx * 2u];
      let b1 = Bs[k * (BN / 4u) + tx * 2u + 1u];
      let a = array<f32, TM>(a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w);
      let b = array<f32, TN>(b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w);
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let gm = m0 + ty * TM + i;
    if (gm >= p.M) { continue; }
    for (var j = 0u; j < TN; j++) {
      let gn = n0 + tx * TN + j;
      if (gn >= p.N) { continue; }
      var v = p.alpha * acc[i][j];
      if (p.dropThreshold != 0u) {
        let keep = hash32(((p.dropRow0 + gm) * p.N + gn) ^ p.seedHash) >= p.dropThreshold;
        v = select(0.0, v * p.dropScale, keep);
      }
      let o = p.dinpOff + gm * p.N + gn;
      if (p.accumulate != 0u) { v += dinp[o]; }
      dinp[o] = v;
    }
  }
}
