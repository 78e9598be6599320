// lib/weights_q4_k: the weight reader for GGUF Q4_K (contract as in lib/weights_f32.wgsl;
// needs lib/weights_blocks.wgsl). Super-block of 256 values (144 bytes, already whole words):
// f16 d, f16 dmin, 12 bytes of eight 6-bit (scale, min) pairs, 128 bytes of nibbles where
// bytes 32c..32c+31 hold sub-block 2c (low nibbles) and 2c+1 (high nibbles).
// value = d·scale·q − dmin·min, as ggml's dequantize_row_q4_K (d·scale·q and dmin·min are
// exact in f32, so the one rounding is the subtraction's, there as here).
alias WeightStore = u32;
const BLOCK_WORDS = 36u;

fn loadWeight(i: u32) -> f32 {
  let blk = i / 256u;
  let e = i % 256u;
  let s = e / 32u; // sub-block 0..7
  // get_scale_min_k4: sub-blocks 0–3 use the low 6 bits of bytes s and s + 4; 4–7 a nibble of
  // byte s + 4 plus the top 2 bits of bytes s − 4 (scale) and s (min).
  var sc: u32;
  var mn: u32;
  if (s < 4u) {
    sc = blockByte(blk, 4u + s) & 63u;
    mn = blockByte(blk, 8u + s) & 63u;
  } else {
    let b = blockByte(blk, 8u + s);
    sc = (b & 15u) | ((blockByte(blk, s) >> 6u) << 4u);
    mn = (b >> 4u) | ((blockByte(blk, 4u + s) >> 6u) << 4u);
  }
  let q = (blockByte(blk, 16u + 32u * (s / 2u) + e % 32u) >> (4u * (s % 2u))) & 15u;
  return blockF16(blk, 0u) * f32(sc) * f32(q) - blockF16(blk, 2u) * f32(mn);
}
