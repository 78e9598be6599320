// lib/segments: segment-boundary scans of the attention kernels, so a block of queries (keys)
// skips whole key (query) tiles outside its segments. Segment ids are contiguous runs with
// distinct ids within a batch row. The kernel declares `seg: array<u32>` (ids [B·T]) and
// `override WG: u32`; call from uniform control flow with every invocation (tid < WG).
// Workgroup memory: 2 words.

var<workgroup> scanHit: atomic<u32>;
var<workgroup> scanOut: u32;

// First key any query row of a block starting at q0 can see: the start of row q0's segment
// (later rows are in the same or later runs, so keys before it are invisible to all of them),
// or `lo` if that is later (the window's start: the scan stops there). Scanned backwards WG keys at a time.
fn segmentStart(b: u32, q0: u32, T: u32, tid: u32, lo: u32) -> u32 {
  let sq = seg[b * T + q0];
  if (tid == 0u) { atomicStore(&scanHit, lo); }
  var hi = q0; // this round checks keys [max(hi - WG, lo), hi)
  loop {
    workgroupBarrier();
    if (hi > tid + lo) {
      let x = hi - 1u - tid;
      if (seg[b * T + x] != sq) { atomicMax(&scanHit, x + 1u); }
    }
    workgroupBarrier();
    if (tid == 0u) { scanOut = atomicLoad(&scanHit); }
    let hit = workgroupUniformLoad(&scanOut);
    if (hit > lo || hi <= lo + WG) { return hit; }
    hi -= WG;
  }
}

// One past the last query that can see any key of a block whose last key is kl: the end of
// kl's segment (queries after that run see none of the block's keys). Scanned forwards WG
// tokens at a time.
fn segmentEnd(b: u32, kl: u32, T: u32, tid: u32) -> u32 {
  let sk = seg[b * T + kl];
  if (tid == 0u) { atomicStore(&scanHit, 0xffffffffu); }
  var lo = kl + 1u; // this round checks tokens [lo, lo + WG)
  loop {
    workgroupBarrier();
    let x = lo + tid;
    if (x < T && seg[b * T + x] != sk) { atomicMin(&scanHit, x); }
    workgroupBarrier();
    if (tid == 0u) { scanOut = atomicLoad(&scanHit); }
    let hit = workgroupUniformLoad(&scanOut);
    if (hit != 0xffffffffu || lo + WG >= T) { return min(hit, T); }
    lo += WG;
  }
}
