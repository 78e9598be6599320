// lora_backward: the LoRA weight gradients, a reduction over all BT rows.
//   dout_w[M, N] += alpha · Σ_k P[k, m] · dropout(Q)[k, n]     (k over the K = BT rows)
// used twice per adapter:  dB[OC, R] += scaling · doutᵀ[OC, BT] · h[BT, R]   (P = dout, Q = h)
//                          dA[R, C]  += dhᵀ[R, BT] · dropout(x)[BT, C]        (P = dh,   Q = x)
// P is [K, M] and Q is [K, N], both row-major (rows = the BT tokens). Each workgroup owns a
// BM×BN output tile; its threads are WG_M×WG_N owners of an 8×8 register block (8 consecutive
// m × 8 consecutive n) times KS k-slices, so the BT rows of each BK tile are split KS ways; the
// KS partial blocks are summed in workgroup memory at the end (fixed order: deterministic).
// Tiles are stored as vec4 along m / n.
// Dropout mask (same as matmul_forward's on x): keep(i) = hash(i ^ seedHash) >= dropThreshold,
// i = k·N + n, kept values scaled by dropScale.
// Bindings: 0 grad (rw, [M, N]), 1 P (r, [K, M]), 2 Q (r, [K, N]), 3 params.
override WG_M: u32 = 4;  // threads along M
override WG_N: u32 = 2;  // threads along N
override KS: u32 = 16;   // k-slices: threads that split the rows of each tile
override BK: u32 = 32;   // rows (k) per workgroup-memory tile
const TM = 8u;           // register block (const: WGSL function arrays need const sizes)
const TN = 8u;
override BM: u32 = WG_M * TM;
override BN: u32 = WG_N * TN;

struct Params {
  M: u32, N: u32, K: u32, gradOff: u32,
  pOff: u32, qOff: u32, alpha: f32, dropThreshold: u32,
  dropScale: f32, seedHash: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<storage, read_write> grad: array<f32>;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> Q: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> Ps: array<vec4<f32>, BK * BM / 4>; // [k][m/4]
var<workgroup> Qs: array<vec4<f32>, BK * BN / 4>; // [k][n/4]
var<workgroup> red: array<f32, BM * BN>;

fn hash32(x: u32) -> u32 {
  var v = x;
  v ^= v >> 16u; v *= 0x7feb352du;
  v ^= v >> 15u; v *= 0x846ca68bu;
  v ^= v >> 16u;
  return v;
}

@compute @workgroup_size(WG_N, WG_M, KS)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let tx = lid.x;
  let ty = lid.y;
  let s = lid.z;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let nthreads = WG_M * WG_N * KS;
  var acc: array<array<f32, TN>, TM>;
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    // Both tiles are row slices of row-major tensors: consecutive threads read consecutive m / n.
    for (var e = li; e < BK * BM; e += nthreads) {
      let k = e / BM;
      let m = e % BM;
      let gk = k0 + k;
      let gm = m0 + m;
      var v = 0.0;
      if (gk < p.K && gm < p.M) { v = P[p.pOff + gk * p.M + gm]; }
      Ps[e / 4u][e % 4u] = v;
    }
    for (var e = li; e < BK * BN; e += nthreads) {
      let k = e / BN;
      let n = e % BN;
      let gk = k0 + k;
      let gn = n0 + n;
      var v = 0.0;
      if (gk < p.K && gn < p.N) {
        v = Q[p.qOff + gk * p.N + gn];
        if (p.dropThreshold != 0u) {
          let keep = hash32((gk * p.N + gn) ^ p.seedHash) >= p.dropThreshold;
          v = select(0.0, v * p.dropScale, keep);
        }
      }
      Qs[e / 4u][e % 4u] = v;
    }
    workgroupBarrier();
    for (var k = s; k < BK; k += KS) {
      let a0 = Ps[k * (BM / 4u) + ty * 2u];
      let a1 = Ps[k * (BM / 4u) + ty * 2u + 1u];
      let b0 = Qs[k * (BN / 4u) + tx * 2u];
      let b1 = Qs[k * (BN / 4u) + tx * 2u + 1u];
      let a = array<f32, TM>(a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w);
      let b = array<f32, TN>(b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w);
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  // Sum the KS partial blocks slice by slice (fixed order: deterministic).
  for (var r = 0u; r < KS; r++) {
    if (s == r) {
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) {
          let idx = (ty * TM + i) * BN + tx * TN + j;
          red[idx] = select(red[idx], 0.0, r == 0u) + acc[i][j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var e = li; e < BM * BN; e += nthreads) {
    let gm = m0 + e / BN;
    let gn = n0 + e % BN;
    if (gm < p.M && gn < p.N) {
      let o = p.gradOff + gm * p.N + gn;
      grad[o] += p.alpha * red[e];
    }
  }
}
