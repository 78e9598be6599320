// lib/weights_f32: the weight reader for f32 frozen weights. Every lib/weights_*.wgsl defines
// the same two names, so a kernel reads its weight through them and never names a format:
//   alias WeightStore        element type of the kernel's `weight` storage array
//   fn loadWeight(i) -> f32  element i of the bound weight range, row-major (flat index), as f32
// The kernel declares `var<storage, read> weight: array<WeightStore>` at its own binding.
// Block formats (Q8_0, Q4_0, Q4_K, Q6_K) fit the same contract: WeightStore = u32 words and
// loadWeight dequantizes element i from its block, with the launcher binding whole blocks.
alias WeightStore = f32;

fn loadWeight(i: u32) -> f32 {
  return weight[i];
}
