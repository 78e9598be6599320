// lib/weights_q6_k: the weight reader for GGUF Q6_K (contract as in lib/weights_f32.wgsl;
// needs lib/weights_blocks.wgsl). Super-block of 256 values (210 bytes, padded to 212, kept in
// the file's order): two halves of 128, each with 64 bytes of ql (low 4 bits), 32 bytes of qh
// (2 high bits for 4 values) and 8 i8 scales of 16 values; then f16 d.
// value = (d·scale)·(q − 32), rounded after each product as ggml's dequantize_row_q6_K.
alias WeightStore = u32;
const BLOCK_WORDS = 53u;

// Where value e's bits are: the bytes of its low nibble and high 2 bits, their shifts and the
// byte of its scale. The 4 values e..e+3 (e % 4 = 0) share the words and the scale.
struct Q6kAt { low: u32, lowShift: u32, high: u32, highShift: u32, scale: u32 }

fn q6kAt(e: u32) -> Q6kAt {
  let n = e / 128u;       // half
  let g = (e / 32u) % 4u; // group of 32 in the half
  let l = e % 32u;
  return Q6kAt(64u * n + 32u * (g % 2u) + l, 4u * (g / 2u), 128u + 32u * n + l, 2u * g, 192u + 8u * n + 2u * g + l / 16u);
}

fn q6kScale(blk: u32, at: Q6kAt) -> f32 {
  return blockF16(blk, 208u) * f32(blockI8(blk, at.scale));
}

fn loadWeight(i: u32) -> f32 {
  let blk = i / 256u;
  let at = q6kAt(i % 256u);
  let low = (blockByte(blk, at.low) >> at.lowShift) & 15u;
  let high = (blockByte(blk, at.high) >> at.highShift) & 3u;
  return q6kScale(blk, at) * f32(i32(low | (high << 4u)) - 32);
}

fn loadWeight4(i: u32) -> vec4<f32> {
  let blk = i / 256u;
  let at = q6kAt(i % 256u);
  let low = (blockWord(blk, at.low) >> at.lowShift) & 0x0f0f0f0fu;
  let high = (blockWord(blk, at.high) >> at.highShift) & 0x03030303u;
  return q6kScale(blk, at) * (vec4<f32>(bytes4(low | (high << 4u))) - 32.0);
}
