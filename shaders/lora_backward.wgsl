// lora_backward: the LoRA weight gradients, a reduction over all BT rows.
//   dout_w[M, N] += alpha · Σ_k P[k, m] · dropout(Q)[k, n]     (k over the K = BT rows)
// used twice per adapter:  dB[OC, R] += scaling · doutᵀ[OC, BT] · h[BT, R]   (P = dout, Q = h)
//                          dA[R, C]  += dhᵀ[R, BT] · dropout(x)[BT, C]        (P = dh,   Q = x)
// P is [K, M] and Q is [K, N], both row-major (rows = the BT tokens). Each workgroup owns a
// BM×BN output tile; its threads are WG_M×WG_N owners of an 8×8 register block (8 consecutive
// m × 8 consecutive n) times KS k-slices, so the BT rows of each BK tile are split KS ways; the
// KS partial blocks are summed in workgroup memory at the end (fixed order: deterministic).
// The launcher prepends lib/hash.wgsl (dropout) and lib/gemm.wgsl (the tiled GEMM core, here
// with KS slices: A = Pᵀ, B = dropout(Q)ᵀ, both filled along m / n).
// Dropout mask (same as matmul_forward's on x): keep(i) = hash(i ^ seedHash) >= dropThreshold,
// i = k·N + n, kept values scaled by dropScale.
// Grouped gradients (dA of the modules that share an input x): workgroup z = 1, 2 computes its
// own product from its own P and grad offsets and dropout seed (gradOff1/pOff1/seedHash1, ...),
// z = 0 with gradOff/pOff/seedHash; each exactly as a separate dispatch would (bit-identical).
// Bindings: 0 grad (rw, [M, N]), 1 P (r, [K, M]), 2 Q (r, [K, N]), 3 params.
override KS: u32 = 16;   // k-slices: threads that split the rows of each tile

struct Params {
  M: u32, N: u32, K: u32, gradOff: u32,
  pOff: u32, qOff: u32, alpha: f32, dropThreshold: u32,
  dropScale: f32, seedHash: u32, gradOff1: u32, gradOff2: u32,
  pOff1: u32, pOff2: u32, seedHash1: u32, seedHash2: u32,
}

@group(0) @binding(0) var<storage, read_write> grad: array<f32>;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> Q: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> red: array<f32, BM * BN>;

// This workgroup's product of a group (wid.z): its grad offset, P offset and dropout seed.
struct Part { gradOff: u32, pOff: u32, seedHash: u32 }
var<private> part: Part;

fn partOf(z: u32) -> Part {
  if (z == 1u) { return Part(p.gradOff1, p.pOff1, p.seedHash1); }
  if (z == 2u) { return Part(p.gradOff2, p.pOff2, p.seedHash2); }
  return Part(p.gradOff, p.pOff, p.seedHash);
}

fn gemmA(m: u32, k: u32) -> f32 {
  return P[part.pOff + k * p.M + m];
}

fn gemmB(n: u32, k: u32) -> f32 {
  return dropout(Q[p.qOff + k * p.N + n], k * p.N + n, p.dropThreshold, p.dropScale, part.seedHash);
}

fn gemmB4(n: u32, k: u32) -> vec4<f32> {
  return vec4<f32>(gemmB(n, k), gemmB(n + 1u, k), gemmB(n + 2u, k), gemmB(n + 3u, k));
}

@compute @workgroup_size(WG_N, WG_M, KS)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let tx = lid.x;
  let ty = lid.y;
  let s = lid.z;
  part = partOf(wid.z);
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let nthreads = WG_M * WG_N * KS;
  // Both operands are row slices of row-major [K, ·] tensors: tiles are filled along m / n.
  let acc = gemm(m0, n0, p.M, p.N, p.K, li, tx, ty, s, KS, false, false);
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
      let o = part.gradOff + gm * p.N + gn;
      grad[o] += p.alpha * red[e];
    }
  }
}
