// lib/gemm: the K-tiled GEMM core of matmul_forward, matmul_backward and lora_backward.
//   gemm(...)[i][j] = Σ_k A(m0 + ty·TM + i, k) · B(n0 + tx·TN + j, k)
// Each workgroup owns a BM×BN output tile; a thread owns an 8×8 register block (8 consecutive
// rows m × 8 consecutive columns n). K goes through workgroup memory in tiles of BK, stored as
// vec4 along m / n: 16 tile reads per 64 FMAs, which is what makes it fast on software
// adapters (gathers) and on GPUs alike. With `slices` > 1, that many threads share each
// register block and split every tile's k (slice s takes k = s, s + slices, ...): the caller
// sums the partial blocks.
// The kernel supplies the operands, called only inside [0, M)×[0, K) and [0, N)×[0, K):
//   fn gemmA(m: u32, k: u32) -> f32        fn gemmB(n: u32, k: u32) -> f32
//   fn gemmB4(n: u32, k: u32) -> vec4<f32>  B at 4 consecutive indices along B's contiguous
//                                           one (k..k+3 when bKFast, else n..n+3), all inside
// and says per operand which index consecutive threads walk when filling a tile: `aKFast` /
// `bKFast` true when k is contiguous in memory (a [M, K] operand), false for [K, M].
// B (the frozen weight in matmul_forward/backward) is filled 4 values at a time, so a block
// format dequantizes from one scale fetch and one packed word per 4 values (lib/weights_*'s
// loadWeight4); the k or n that gemmB4 gets is then a multiple of 4 from the tile's start.
// Workgroup size: (WG_N, WG_M, slices); call from uniform control flow (it has barriers).
override WG_M: u32 = 8;  // threads along M
override WG_N: u32 = 8;  // threads along N
override BK: u32 = 16;   // K depth of one workgroup-memory tile
const TM = 8u;           // register block: rows per thread (const: WGSL function arrays need const sizes)
const TN = 8u;           // register block: columns per thread
override BM: u32 = WG_M * TM;
override BN: u32 = WG_N * TN;

alias GemmBlock = array<array<f32, TN>, TM>;

var<workgroup> As: array<vec4<f32>, BK * BM / 4>; // [k][m/4]
var<workgroup> Bs: array<vec4<f32>, BK * BN / 4>; // [k][n/4]

fn gemm(m0: u32, n0: u32, M: u32, N: u32, K: u32, li: u32, tx: u32, ty: u32, slice: u32, slices: u32, aKFast: bool, bKFast: bool) -> GemmBlock {
  let nthreads = WG_M * WG_N * slices;
  var acc: GemmBlock;
  for (var k0 = 0u; k0 < K; k0 += BK) {
    for (var e = li; e < BM * BK; e += nthreads) {
      var m = e % BM;
      var k = e / BM;
      if (aKFast) { m = e / BK; k = e % BK; }
      let gm = m0 + m;
      let gk = k0 + k;
      var v = 0.0;
      if (gm < M && gk < K) { v = gemmA(gm, gk); }
      As[k * (BM / 4u) + m / 4u][m % 4u] = v;
    }
    for (var e = li; e < BN * BK / 4u; e += nthreads) {
      // A group of 4 along B's contiguous index: (n, k..k+3) when bKFast, else (n..n+3, k).
      var n = (e % (BN / 4u)) * 4u;
      var k = e / (BN / 4u);
      if (bKFast) { n = e / (BK / 4u); k = (e % (BK / 4u)) * 4u; }
      let gn = n0 + n;
      let gk = k0 + k;
      let step = select(vec2<u32>(1u, 0u), vec2<u32>(0u, 1u), bKFast); // (n, k) step inside the group
      var v = vec4<f32>(0.0);
      if (gn + 3u * step.x < N && gk + 3u * step.y < K) {
        v = gemmB4(gn, gk);
      } else {
        // The edge of B: element by element, zero outside.
        for (var i = 0u; i < 4u; i++) {
          if (gn + i * step.x < N && gk + i * step.y < K) { v[i] = gemmB(gn + i * step.x, gk + i * step.y); }
        }
      }
      if (bKFast) {
        for (var i = 0u; i < 4u; i++) { Bs[(k + i) * (BN / 4u) + n / 4u][n % 4u] = v[i]; }
      } else {
        Bs[k * (BN / 4u) + n / 4u] = v;
      }
    }
    workgroupBarrier();
    for (var k = slice; k < BK; k += slices) {
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
  return acc;
}
