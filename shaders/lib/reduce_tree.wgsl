// lib/reduce_tree: the shared-memory tree reduction that both block-reduction libraries use
// (lib/reduce_workgroup.wgsl as its only path, lib/reduce_subgroup.wgsl as its fallback).
// Prepended before either of them to a kernel that declares `override WG: u32` (a power of
// two ≤ 256); called from uniform control flow by every invocation of the group, returns
// the result to every invocation. Workgroup memory: WG·4 bytes.

var<workgroup> red_scratch: array<f32, WG>;

fn treeSum(v: f32, lid: u32) -> f32 {
  red_scratch[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red_scratch[lid] = red_scratch[lid] + red_scratch[lid + s]; }
    workgroupBarrier();
  }
  let r = red_scratch[0];
  workgroupBarrier(); // the scratch may be reused by the next call
  return r;
}

fn treeMax(v: f32, lid: u32) -> f32 {
  red_scratch[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red_scratch[lid] = max(red_scratch[lid], red_scratch[lid + s]); }
    workgroupBarrier();
  }
  let r = red_scratch[0];
  workgroupBarrier();
  return r;
}
