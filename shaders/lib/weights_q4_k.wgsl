// lib/weights_q4_k: the weight reader for GGUF Q4_K (contract as in lib/weights_f32.wgsl;
// needs lib/weights_blocks.wgsl). Super-block of 256 values (144 bytes, already whole words,
// kept as the file stores it): f16 d, f16 dmin, 12 bytes of eight 6-bit (scale, min) pairs,
// 128 bytes of nibbles where bytes 32c..32c+31 hold sub-block 2c (low nibbles) and 2c+1 (high).
// value = d·scale·q − dmin·min, as ggml's dequantize_row_q4_K (d·scale·q and dmin·min are
// exact in f32, so the one rounding is the subtraction's, there as here).
alias WeightStore = u32;
const BLOCK_WORDS = 36u;

// (d·scale, dmin·min) of sub-block s (0..7) of block blk.
fn q4kScaleMin(blk: u32, s: u32) -> vec2<f32> {
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
  return vec2<f32>(blockF16(blk, 0u) * f32(sc), blockF16(blk, 2u) * f32(mn));
}

// Byte of value e's nibble (low for even sub-blocks, high for odd); e..e+3 (e % 4 = 0) share a word.
fn q4kByte(e: u32) -> u32 {
  return 16u + 32u * (e / 64u) + e % 32u;
}

fn loadWeight(i: u32) -> f32 {
  let blk = i / 256u;
  let e = i % 256u;
  let s = e / 32u;
  let q = (blockByte(blk, q4kByte(e)) >> (4u * (s % 2u))) & 15u;
  let dm = q4kScaleMin(blk, s);
  return dm.x * f32(q) - dm.y;
}

fn loadWeight4(i: u32) -> vec4<f32> {
  let blk = i / 256u;
  let e = i % 256u;
  let s = e / 32u;
  let q = bytes4((blockWord(blk, q4kByte(e)) >> (4u * (s % 2u))) & 0x0f0f0f0fu);
  let dm = q4kScaleMin(blk, s);
  return dm.x * vec4<f32>(q) - dm.y;
}
