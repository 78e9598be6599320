// matmul_backward: input gradient of a linear layer with a frozen weight (no dW).
//   dinp[BT, C] (+)= dropout'(alpha · dout[BT, OC] · W[OC, C])
// One dispatch covers a row chunk of dout/dinp (M ≤ BT rows) and a row range of W
// (K ≤ OC rows of W = K columns of dout starting where doutOff points, row stride ldd), so a
// weight larger than one storage binding runs as several dispatches accumulating into dinp.
// N = C is never split. W in any weight format: the launcher prepends a weight reader
// (lib/weights_*.wgsl), lib/hash.wgsl, lib/gemm.wgsl and lib/gemm_store.wgsl, as for matmul_forward.
// dropout' (the backward of LoRA's input dropout) multiplies by the same mask as the forward:
// keep(i) = hash(i ^ seedHash) >= dropThreshold, i = (dropRow0 + m)·N + n, scale dropScale.
// LoRA input-gradient epilogue (override LORA_DX, one dispatch instead of two per adapted linear):
//   dinp[m, n] = stored[m, n] + loraDropout'(loraAlpha · Σ_r loraDh[m, r] · loraA[r, n])   (r < R)
// where stored is what the plain kernel would write, and loraDropout' the LoRA module's mask
// (its own threshold/scale/seed; the plain fields stay the base product's). The second product
// (lib/gemm_store's gemmSecond: same tiles, same k order as a separate accumulating dispatch)
// is added to the rounded stored value: bit-identical to base then dx += dh·A.
// Bindings: 0 dinp (rw, [M, N]), 1 dout (r, row stride ldd), 2 weight (r, [K, N]),
//           3 loraDh (r, [M, R]) and 4 loraA (r, [R, N], f32) (dummies unless LORA_DX), 5 params.
override LORA_DX: bool = false;

struct Params {
  M: u32, N: u32, K: u32, ldd: u32,
  dinpOff: u32, doutOff: u32, wOff: u32, accumulate: u32,
  alpha: f32, dropThreshold: u32, dropScale: f32, seedHash: u32,
  dropRow0: u32, _p0: u32, _p1: u32, _p2: u32,
  R: u32, dhOff: u32, aOff: u32, loraAlpha: f32,
  loraDropThreshold: u32, loraDropScale: f32, loraSeedHash: u32, _p3: u32,
}

@group(0) @binding(0) var<storage, read_write> dinp: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<WeightStore>;
@group(0) @binding(3) var<storage, read> loraDh: array<f32>;
@group(0) @binding(4) var<storage, read> loraA: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

fn gemmA(m: u32, k: u32) -> f32 {
  if (LORA_DX && secondPass) { return loraDh[p.dhOff + m * p.R + k]; }
  return dout[p.doutOff + m * p.ldd + k];
}

fn gemmB(n: u32, k: u32) -> f32 {
  if (LORA_DX && secondPass) { return loraA[p.aOff + k * p.N + n]; }
  return loadWeight(p.wOff + k * p.N + n);
}

// n is a multiple of 4 and a block format's rows (N) and wOff are whole blocks: i % 4 = 0.
fn gemmB4(n: u32, k: u32) -> vec4<f32> {
  if (LORA_DX && secondPass) {
    let i = p.aOff + k * p.N + n;
    return vec4<f32>(loraA[i], loraA[i + 1u], loraA[i + 2u], loraA[i + 3u]);
  }
  return loadWeight4(p.wOff + k * p.N + n);
}

fn gemmStore(m: u32, n: u32, acc: f32) {
  let i = (p.dropRow0 + m) * p.N + n;
  let v = dropout(p.alpha * acc, i, p.dropThreshold, p.dropScale, p.seedHash);
  let o = p.dinpOff + m * p.N + n;
  var stored = v;
  if (p.accumulate != 0u) { stored = dinp[o] + v; }
  if (LORA_DX) {
    stored += dropout(p.loraAlpha * secondAt(m, n), i, p.loraDropThreshold, p.loraDropScale, p.loraSeedHash);
  }
  dinp[o] = stored;
}

@compute @workgroup_size(WG_N, WG_M)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  // dout tiles are filled along k (contiguous in a dout row), W tiles along n (contiguous in a W row).
  let acc = gemm(m0, n0, p.M, p.N, p.K, li, lid.x, lid.y, 0u, 1u, true, false);
  if (LORA_DX) { gemmSecond(m0, n0, p.M, p.N, p.R, li, lid.x, lid.y, true, false); }
  gemmStoreBlock(acc, m0, n0, p.M, p.N, lid.x, lid.y);
}
