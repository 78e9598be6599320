// lib/weights_blocks: word and byte access for the block-format weight readers (weights_q8_0,
// _q4_0, _q4_k, _q6_k). On the GPU a block is padded with zero bytes to whole u32 words
// (BLOCK_WORDS, defined by the reader), so every block starts on a word; Q8_0 and Q4_0 also
// move their f16 scale behind the values (packWeightBlocks) so that 4 consecutive values sit
// in one aligned word. Only bytes move: the values are exactly the file's. WeightStore = u32.
fn blockByte(blk: u32, b: u32) -> u32 {
  return extractBits(weight[blk * BLOCK_WORDS + b / 4u], 8u * (b % 4u), 8u);
}

// The aligned word at byte b (b % 4 = 0): loadWeight4 reads 4 values' bits at once.
fn blockWord(blk: u32, b: u32) -> u32 {
  return weight[blk * BLOCK_WORDS + b / 4u];
}

// A signed byte (i8): scales of Q6_K, values of Q8_0.
fn blockI8(blk: u32, b: u32) -> i32 {
  return i32(blockByte(blk, b) << 24u) >> 24u;
}

// The f16 at byte b (b even) as f32; unpack2x16float needs no shader-f16.
fn blockF16(blk: u32, b: u32) -> f32 {
  return unpack2x16float(weight[blk * BLOCK_WORDS + b / 4u] >> (8u * (b % 4u))).x;
}

// The 4 bytes of a word, low byte first (bytes4) or as i8 (i8x4).
fn bytes4(w: u32) -> vec4<u32> {
  return (vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(255u);
}

fn i8x4(w: u32) -> vec4<i32> {
  return bitcast<vec4<i32>>(vec4<u32>(w) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
}
