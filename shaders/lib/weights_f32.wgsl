// lib/weights_f32: the weight reader for f32 frozen weights. Every lib/weights_*.wgsl defines
// the same names, so a kernel reads its weight through them and never names a format:
//   alias WeightStore         element type of the kernel's `weight` storage array
//   fn loadWeight(i) -> f32   element i of the bound weight range, row-major (flat index), as f32
//   fn loadWeight4(i) -> vec4<f32>  elements i..i+3, all in one row, i % 4 = 0 for block
//                             formats: what the GEMM's tile fill uses, so a block format reads
//                             its scale and packed words once per 4 values instead of per value
// The kernel declares `var<storage, read> weight: array<WeightStore>` at its own binding.
// Block formats (Q8_0, Q4_0, Q4_K, Q6_K) fit the same contract: WeightStore = u32 words and
// loadWeight dequantizes element i from its block, with the launcher binding whole blocks.
alias WeightStore = f32;

fn loadWeight(i: u32) -> f32 {
  return weight[i];
}

fn loadWeight4(i: u32) -> vec4<f32> {
  return vec4<f32>(weight[i], weight[i + 1u], weight[i + 2u], weight[i + 3u]);
}
