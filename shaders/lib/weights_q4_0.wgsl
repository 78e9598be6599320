// lib/weights_q4_0: the weight reader for GGUF Q4_0 (contract as in lib/weights_f32.wgsl;
// needs lib/weights_blocks.wgsl). Block of 32 values: f16 d, 16 bytes whose low nibbles are
// values 0–15 and high nibbles values 16–31 (18 bytes); on the GPU the 16 nibble bytes come
// first, then d, then 2 zero bytes (20 bytes: 4 values per aligned word).
// value = (q − 8) · d, as ggml's dequantize_row_q4_0.
alias WeightStore = u32;
const BLOCK_WORDS = 5u;

fn loadWeight(i: u32) -> f32 {
  let blk = i / 32u;
  let j = i % 32u;
  let q = (blockByte(blk, j % 16u) >> (4u * (j / 16u))) & 15u;
  return f32(i32(q) - 8) * blockF16(blk, 16u);
}

fn loadWeight4(i: u32) -> vec4<f32> {
  let blk = i / 32u;
  let j = i % 32u;
  let q = bytes4((blockWord(blk, j % 16u) >> (4u * (j / 16u))) & 0x0f0f0f0fu);
  return (vec4<f32>(q) - 8.0) * blockF16(blk, 16u);
}
