// lib/reduce_workgroup: block-wide f32 sum/max for kernels that reduce inside one workgroup.
// Not a kernel by itself: a launcher prepends lib/reduce_tree.wgsl and this file (or
// lib/reduce_subgroup.wgsl when ctx.caps.subgroups) to a kernel that declares `override WG: u32`
// (a power of two ≤ 256) and calls blockSum/blockMax from uniform control flow with every
// invocation of the group. Both functions return the result to every invocation.
// Baseline path: the shared-memory tree reduction, no optional features.

fn blockSum(v: f32, lid: u32) -> f32 { return treeSum(v, lid); }

fn blockMax(v: f32, lid: u32) -> f32 { return treeMax(v, lid); }
