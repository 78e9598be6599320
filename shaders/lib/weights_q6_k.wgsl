// lib/weights_q6_k: the weight reader for GGUF Q6_K (contract as in lib/weights_f32.wgsl;
// needs lib/weights_blocks.wgsl). Super-block of 256 values (210 bytes, padded to 212): two
// halves of 128, each with 64 bytes of ql (low 4 bits), 32 bytes of qh (2 high bits for 4
// values) and 8 i8 scales of 16 values; then f16 d. value = (d·scale)·(q − 32), rounded
// after each product as ggml's dequantize_row_q6_K.
alias WeightStore = u32;
const BLOCK_WORDS = 53u;

fn loadWeight(i: u32) -> f32 {
  let blk = i / 256u;
  let e = i % 256u;
  let n = e / 128u;       // half
  let g = (e / 32u) % 4u; // group of 32 in the half
  let l = e % 32u;
  let low = (blockByte(blk, 64u * n + 32u * (g % 2u) + l) >> (4u * (g / 2u))) & 15u;
  let high = (blockByte(blk, 128u + 32u * n + l) >> (2u * g)) & 3u;
  let q = i32(low | (high << 4u)) - 32;
  let scale = blockF16(blk, 208u) * f32(blockI8(blk, 192u + 8u * n + 2u * g + l / 16u));
  return scale * f32(q);
}
