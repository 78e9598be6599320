// lib/hash: a stateless u32 hash (lowbias32; hash32 in kernels/matmul.ts is the same function)
// and the input-dropout mask built on it, for kernels that regenerate a mask instead of storing it.
// dropout(v, i, threshold, scale, seedHash): element i is kept iff hash32(i ^ seedHash) >=
// threshold, kept values are scaled by scale = 1/(1-p); threshold 0 is the exact identity.

fn hash32(x: u32) -> u32 {
  var v = x;
  v ^= v >> 16u; v *= 0x7feb352du;
  v ^= v >> 15u; v *= 0x846ca68bu;
  v ^= v >> 16u;
  return v;
}

fn dropout(v: f32, i: u32, threshold: u32, scale: f32, seedHash: u32) -> f32 {
  if (threshold == 0u) { return v; }
  return select(0.0, v * scale, hash32(i ^ seedHash) >= threshold);
}
