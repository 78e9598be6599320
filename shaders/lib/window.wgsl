// lib/window: the sliding window of the attention kernels (training tiles, row kernels and
// decode). A window of W keys (HF `sliding_window`; the launchers pass W = T, or maxT, for full
// attention): query t sees key s only if s <= t and t - s < W, so at most W keys, itself included.

fn inWindow(t: u32, s: u32, W: u32) -> bool {
  return s <= t && t - s < W;
}

// The first key query t sees (later queries see none before it: blocks skip the tiles before).
fn windowStart(t: u32, W: u32) -> u32 {
  return select(0u, t + 1u - W, t + 1u > W);
}
