// lib/weights_q8_0: the weight reader for GGUF Q8_0 (contract as in lib/weights_f32.wgsl;
// needs lib/weights_blocks.wgsl). Block of 32 values: f16 d, 32 × i8 q (34 bytes); on the GPU
// the 32 q bytes come first, then d, then 2 zero bytes (36 bytes: 4 values per aligned word).
// value = q · d, as ggml's dequantize_row_q8_0.
alias WeightStore = u32;
const BLOCK_WORDS = 9u;

fn loadWeight(i: u32) -> f32 {
  let blk = i / 32u;
  return f32(blockI8(blk, i % 32u)) * blockF16(blk, 32u);
}

fn loadWeight4(i: u32) -> vec4<f32> {
  let blk = i / 32u;
  return vec4<f32>(i8x4(blockWord(blk, i % 32u))) * blockF16(blk, 32u);
}
