enable subgroups;
// lib/reduce_subgroup: the subgroup fast path of lib/reduce_workgroup.wgsl (same functions,
// same contract: prepended after lib/reduce_tree.wgsl to a kernel declaring `override WG: u32`,
// a power of two ≤ 256; blockSum/blockMax called from uniform control flow; result returned
// to every invocation).
// Each subgroup reduces in registers, one slot per subgroup goes through workgroup memory,
// and every subgroup then sums the slots itself (no broadcast barrier needed).
// WGSL does not promise that subgroup k holds invocations [k·n, (k+1)·n), so each call
// checks that layout and falls back to the tree reduction when it does not hold; the
// result is deterministic either way. Workgroup memory: WG·4 bytes (the tree's scratch,
// reused for the per-subgroup slots) + 12 bytes.

var<workgroup> red_irregular: atomic<u32>;
var<workgroup> red_sizes: atomic<u32>;
var<workgroup> red_flag: u32;

// True when this workgroup's subgroups are all full, equal-sized and contiguous in lid.
fn red_layoutIsRegular(lid: u32) -> bool {
  let n = subgroupAdd(1u);
  let lo = subgroupMin(lid);
  let hi = subgroupMax(lid);
  if (hi - lo + 1u != n || lo % n != 0u) { atomicStore(&red_irregular, 1u); }
  atomicOr(&red_sizes, n);
  workgroupBarrier();
  if (lid == 0u) {
    red_flag = select(0u, 1u, atomicLoad(&red_irregular) != 0u || countOneBits(atomicLoad(&red_sizes)) != 1u);
  }
  return workgroupUniformLoad(&red_flag) == 0u;
}

fn blockSum(v: f32, lid: u32) -> f32 {
  if (red_layoutIsRegular(lid)) {
    let s = subgroupAdd(v);
    let n = subgroupAdd(1u);
    let lane = lid % n;
    if (lane == 0u) { red_scratch[lid / n] = s; }
    workgroupBarrier();
    var t = 0.0;
    for (var k = lane; k < WG / n; k = k + n) { t = t + red_scratch[k]; }
    let r = subgroupAdd(t);
    workgroupBarrier();
    return r;
  }
  return treeSum(v, lid);
}

fn blockMax(v: f32, lid: u32) -> f32 {
  if (red_layoutIsRegular(lid)) {
    let s = subgroupMax(v);
    let n = subgroupAdd(1u);
    let lane = lid % n;
    if (lane == 0u) { red_scratch[lid / n] = s; }
    workgroupBarrier();
    var t = red_scratch[0];
    for (var k = lane; k < WG / n; k = k + n) { t = max(t, red_scratch[k]); }
    let r = subgroupMax(t);
    workgroupBarrier();
    return r;
  }
  return treeMax(v, lid);
}
