enable subgroups;
// lib/row_reads_subgroup: how a whole-row kernel (attention_forward_rows, attention_backward_dq_rows,
// attention_backward_dkdv_rows) reads a row of a workgroup tile that every invocation reads at
// the same time, on devices whose subgroups all have at least SG lanes and fill the workgroup.
// Same functions and contract as lib/row_reads_workgroup.wgsl (attention.ts rowReads picks one).
// Lane l reads the row's vec4s l, l + SG, ...; rowVec4 hands vec4 d to every lane by a shuffle.
// Why: on CPU drivers (llvmpipe) a workgroup-memory read whose address the compiler cannot prove
// uniform is a per-invocation gather, the row kernels' main cost; a shuffle with a constant lane
// is a register broadcast, so a row costs DS4 / SG gathers instead of DS4 (measured ~1.8x on
// the dq kernel at D = 64). Prepended after lib/attention_rows.wgsl (D4MAX, DS4). Call
// initRowReads first, and everything here from uniform control flow.
override SG: u32 = 8u;        // lanes of the smallest subgroup (>= 4, divides the workgroup)
const ROW_REGS: u32 = 4u;     // registers a row of D4MAX vec4 takes at SG >= 4

var<private> rowLane: u32;    // this invocation's lane in its subgroup

// With every lane active, the exclusive count of lanes below is the lane's subgroup id.
fn initRowReads() { rowLane = subgroupExclusiveAdd(1u); }

// Registers holding a row (DS4 vec4 per lane slice).
fn rowRegCount() -> u32 { return (DS4 + SG - 1u) / SG; }

// The vec4 of the row that register m of this invocation holds (clamped to the row).
fn rowRegVec4(m: u32) -> u32 { return min(rowLane + m * SG, DS4 - 1u); }

// Vec4 d of the row whose registers are regs (d a constant after unrolling: a broadcast).
fn rowVec4(regs: ptr<function, array<vec4<f32>, ROW_REGS>>, d: u32) -> vec4<f32> {
  return subgroupShuffle((*regs)[d / SG], d % SG);
}
