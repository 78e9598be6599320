// lib/weights_blocks: byte access for the block-format weight readers (weights_q8_0, _q4_0,
// _q4_k, _q6_k). On the GPU a block is the file's block byte for byte, zero-padded to whole
// u32 words (BLOCK_WORDS, defined by the reader): the values are exactly the file's, and
// every block starts on a word. WeightStore = u32.
fn blockByte(blk: u32, b: u32) -> u32 {
  return extractBits(weight[blk * BLOCK_WORDS + b / 4u], 8u * (b % 4u), 8u);
}

// A signed byte (i8): scales of Q6_K, values of Q8_0.
fn blockI8(blk: u32, b: u32) -> i32 {
  return i32(blockByte(blk, b) << 24u) >> 24u;
}

// The f16 at byte b (b even) as f32; unpack2x16float needs no shader-f16.
fn blockF16(blk: u32, b: u32) -> f32 {
  return unpack2x16float(weight[blk * BLOCK_WORDS + b / 4u] >> (8u * (b % 4u))).x;
}
