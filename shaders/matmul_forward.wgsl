// matmul_forward: a linear layer with a frozen weight, optionally with dropout on its input.
//   out[BT, OC] = alpha · dropout(inp)[BT, C] · W[OC, C]ᵀ (+ bias[OC]) (+ out if accumulate)
// One dispatch covers a row chunk of inp/out (M ≤ BT rows) and a row range of W (N ≤ OC
// rows of W = N columns of out starting at the column that outOff points to), so a weight
// larger than one storage binding runs as several dispatches (K = C is never split here).
// W is row-major [OC, C] as Hugging Face stores it; the inner loop is a K-tiled GEMM with
// workgroup-memory tiles (stored as vec4 along m / n) and an 8×8 register block per thread
// (a thread owns 8 consecutive rows × 8 consecutive columns of out): 16 tile reads per
// 64 FMAs, which is what makes it fast on software adapters (gathers) and on GPUs alike.
// Dropout (LoRA's input dropout): keep(i) = hash(i ^ seedHash) >= dropThreshold with
// i = (dropRow0 + m)·K + k, kept values scaled by dropScale = 1/(1-p); threshold 0 = identity.
// Bindings: 0 out (rw, row stride ldo), 1 inp (r, [M, K]), 2 weight (r, [N, K]),
//           3 bias (r, [OC_total]; a dummy when hasBias = 0), 4 params.
override WG_M: u32 = 8;  // threads along M (rows of out)
override WG_N: u32 = 8;  // threads along N (columns of out)
override BK: u32 = 16;   // K depth of one workgroup-memory tile
const TM = 8u;           // register block: rows per thread (const: WGSL function arrays need const sizes)
const TN = 8u;           // register block: columns per thread
override BM: u32 = WG_M * TM;
override BN: u32 = WG_N * TN;

struct Params {
  M: u32, N: u32, K: u32, ldo: u32,
  outOff: u32, inpOff: u32, wOff: u32, biasOff: u32,
  hasBias: u32, accumulate: u32, alpha: f32, dropThreshold: u32,
  dropScale: f32, seedHash: u32, dropRow0: u32, _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

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
    // Tile loads: consecutive threads read consecutive k (contiguous in memory).
    for (var e = li; e < BM * BK; e += nthreads) {
      let m = e / BK;
      let k = e % BK;
      let gm = m0 + m;
      let gk = k0 + k;
      var v = 0.0;
      if (gm < p.M && gk < p.K) {
        v = inp[p.inpOff + gm * p.K + gk];
        if (p.dropThreshold != 0u) {
          let keep = hash32(((p.dropRow0 + gm) * p.K + gk) ^ p.seedHash) >= p.dropThreshold;
          v = select(0.0, v * p.dropScale, keep);
        }
      }
      As[k * (BM / 4u) + m / 4u][m % 4u] = v;
    }
    for (var e = li; e < BN * BK; e += nthreads) {
      let n = e / BK;
      let k = e % BK;
      let gn = n0 + n;
      let gk = k0 + k;
      var v = 0.0;
      if (gn < p.N && gk < p.K) { v = weight[p.wOff + gn * p.K + gk]; }
      Bs[k * (BN / 4u) + n / 4u][n % 4u] = v;
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
      if (p.hasBias != 0u) { v += bias[p.biasOff + gn]; }
      let o = p.outOff + gm * p.ldo + gn;
      if (p.accumulate != 0u) { v += out[o]; }
      out[o] = v;
    }
  }
}
