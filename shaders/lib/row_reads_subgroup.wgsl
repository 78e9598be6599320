enable subgroups;
// lib/row_reads_subgroup: how a row kernel (attention_forward_rows, attention_backward_dq_rows,
// attention_backward_dkdv_rows) reads a row of a workgroup tile that every invocation of a row
// slot's lane reads at the same time, on devices whose subgroups all have the one width SG. Same
// functions and contract as lib/row_reads_workgroup.wgsl (attention.ts rowReads picks one).
// Lane l of a subgroup reads the row's vec4s l, l + SG, ...; rowVec4 hands vec4 d to every lane
// by a shuffle. Why: on CPU drivers (llvmpipe) a workgroup-memory read whose address the
// compiler cannot prove uniform is a per-invocation gather, the row kernels' main cost; a
// shuffle with a constant lane is a register broadcast, so a row costs DS4 / SG gathers instead
// of DS4 (~2x on each kernel).
// Every lane of a subgroup must read the same row slice: rowInvocation numbers the invocations
// subgroup by subgroup (subgroup k holds k·SG .. k·SG + SG - 1), and the kernels derive their row
// slot and lane from that number, so a subgroup never straddles two lanes' slices where SG
// divides the slots R (the launcher's condition). Prepended after lib/attention_rows.wgsl
// (D4MAX, DS4). Call rowInvocation first, and everything here from uniform control flow.
override SG: u32 = 8u;        // lanes of every subgroup (>= 4)
const ROW_REGS: u32 = 4u;     // registers a row of D4MAX vec4 takes at SG >= 4

var<private> rowLane: u32;    // this invocation's lane in its subgroup
var<workgroup> rowSubgroups: atomic<u32>; // subgroups numbered so far (workgroup memory starts at 0)

// The invocation's index in the workgroup as the kernel uses it (in place of
// local_invocation_index): subgroup k's lanes are k·SG .. k·SG + SG - 1.
fn rowInvocation(lid: u32) -> u32 {
  // With every lane active, a lane's count of the lanes below it is its subgroup id.
  rowLane = subgroupExclusiveAdd(1u);
  var k = 0u;
  if (rowLane == 0u) { k = atomicAdd(&rowSubgroups, 1u); }
  return subgroupBroadcastFirst(k) * SG + rowLane;
}

// Registers holding a row (DS4 vec4 per lane slice).
fn rowRegCount() -> u32 { return (DS4 + SG - 1u) / SG; }

// The vec4 of the row slice that register m of this invocation holds (clamped to the slice).
fn rowRegVec4(m: u32) -> u32 { return min(rowLane + m * SG, DS4 - 1u); }

// Vec4 d of the row slice whose registers are regs (d a constant after unrolling: a broadcast).
fn rowVec4(regs: ptr<function, array<vec4<f32>, ROW_REGS>>, d: u32) -> vec4<f32> {
  return subgroupShuffle((*regs)[d / SG], d % SG);
}
