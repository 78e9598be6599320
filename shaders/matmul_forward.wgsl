// matmul_forward: a linear layer with a frozen weight, optionally with dropout on its input.
//   out[BT, OC] = alpha · dropout(inp)[BT, C] · W[OC, C]ᵀ (+ bias[OC]) (+ out if accumulate)
// One dispatch covers a row chunk of inp/out (M ≤ BT rows) and a row range of W (N ≤ OC
// rows of W = N columns of out starting at the column that outOff points to), so a weight
// larger than one storage binding runs as several dispatches (K = C is never split here).
// W is row-major [OC, C] as Hugging Face stores it, in any weight format: the launcher
// prepends a weight reader (lib/weights_*.wgsl: WeightStore, loadWeight, loadWeight4), lib/hash.wgsl
// (dropout), lib/gemm.wgsl (the K-tiled GEMM core, 8×8 register block per thread) and
// lib/gemm_store.wgsl (its epilogue, calling gemmStore).
// Dropout (LoRA's input dropout): keep(i) = hash(i ^ seedHash) >= dropThreshold with
// i = (dropRow0 + m)·K + k, kept values scaled by dropScale = 1/(1-p); threshold 0 = identity.
// LoRA up-projection epilogue (override LORA_UP, one dispatch instead of two per adapted linear):
//   out[m, n] = base[m, n] + loraAlpha · Σ_r loraH[m, r] · loraB[n, r]     (r < R)
// where base is the value the plain kernel would store. The second product (lib/gemm_store's
// gemmSecond: same tiles, same k order as a separate accumulating dispatch) is added to the
// rounded base value, so the result is bit-identical to base then a y += s·h·Bᵀ pass.
// Grouped products (LoRA's down-projections of the modules that share an input, q/k/v or
// gate/up): workgroup z = 1, 2 computes the same product with its own output offset, weight
// offset and dropout seed (outOff1/wOff1/seedHash1, ...), z = 0 with outOff/wOff/seedHash. Each
// workgroup's arithmetic is that of a separate dispatch of its product: bit-identical.
// Bindings: 0 out (rw, row stride ldo), 1 inp (r, [M, K]), 2 weight (r, [N, K]),
//           3 bias (r, [OC_total]; a dummy when hasBias = 0), 4 loraH (r, [M, R]) and
//           5 loraB (r, [N, R], f32) (dummies unless LORA_UP), 6 params.
override LORA_UP: bool = false;

struct Params {
  M: u32, N: u32, K: u32, ldo: u32,
  outOff: u32, inpOff: u32, wOff: u32, biasOff: u32,
  hasBias: u32, accumulate: u32, alpha: f32, dropThreshold: u32,
  dropScale: f32, seedHash: u32, dropRow0: u32, _pad: u32,
  R: u32, hOff: u32, bOff: u32, loraAlpha: f32,
  outOff1: u32, outOff2: u32, wOff1: u32, wOff2: u32,
  seedHash1: u32, seedHash2: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<WeightStore>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> loraH: array<f32>;
@group(0) @binding(5) var<storage, read> loraB: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

// This workgroup's product of a group (wid.z): its out offset, weight offset and dropout seed.
struct Part { outOff: u32, wOff: u32, seedHash: u32 }
var<private> part: Part;

fn partOf(z: u32) -> Part {
  if (z == 1u) { return Part(p.outOff1, p.wOff1, p.seedHash1); }
  if (z == 2u) { return Part(p.outOff2, p.wOff2, p.seedHash2); }
  return Part(p.outOff, p.wOff, p.seedHash);
}

fn gemmA(m: u32, k: u32) -> f32 {
  if (LORA_UP && secondPass) { return loraH[p.hOff + m * p.R + k]; }
  let v = inp[p.inpOff + m * p.K + k];
  return dropout(v, (p.dropRow0 + m) * p.K + k, p.dropThreshold, p.dropScale, part.seedHash);
}

fn gemmB(n: u32, k: u32) -> f32 {
  if (LORA_UP && secondPass) { return loraB[p.bOff + n * p.R + k]; }
  return loadWeight(part.wOff + n * p.K + k);
}

// k is a multiple of 4 and a block format's rows (K) and wOff are whole blocks: i % 4 = 0.
fn gemmB4(n: u32, k: u32) -> vec4<f32> {
  if (LORA_UP && secondPass) {
    let i = p.bOff + n * p.R + k;
    return vec4<f32>(loraB[i], loraB[i + 1u], loraB[i + 2u], loraB[i + 3u]);
  }
  return loadWeight4(part.wOff + n * p.K + k);
}

fn gemmStore(m: u32, n: u32, acc: f32) {
  var v = p.alpha * acc;
  if (p.hasBias != 0u) { v += bias[p.biasOff + n]; }
  let o = part.outOff + m * p.ldo + n;
  if (p.accumulate != 0u) { v += out[o]; }
  if (LORA_UP) { v += p.loraAlpha * secondAt(m, n); }
  out[o] = v;
}

@compute @workgroup_size(WG_N, WG_M)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  part = partOf(wid.z);
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  // Both operands are [rows, K] row-major: tiles are filled along k.
  let acc = gemm(m0, n0, p.M, p.N, p.K, li, lid.x, lid.y, 0u, 1u, true, true);
  if (LORA_UP) { gemmSecond(m0, n0, p.M, p.N, p.R, li, lid.x, lid.y, true, true); }
  gemmStoreBlock(acc, m0, n0, p.M, p.N, lid.x, lid.y);
}
