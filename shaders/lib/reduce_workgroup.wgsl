// lib/reduce_workgroup: block-wide f32 sum/max for kernels that reduce inside one workgroup.
// Not a kernel by itself: a launcher prepends this file (or lib/reduce_subgroup.wgsl when
// ctx.caps.subgroups) to a kernel that declares `override WG: u32` (a power of two ≤ 256)
// and calls blockSum/blockMax from uniform control flow with every invocation of the group.
// Both functions return the result to every invocation. Workgroup memory: WG·4 bytes.
// Baseline path: a shared-memory tree reduction, no optional features.

var<workgroup> red_scratch: array<f32, WG>;

fn blockSum(v: f32, lid: u32) -> f32 {
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

fn blockMax(v: f32, lid: u32) -> f32 {
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
