// lib/row_reads_workgroup: how a row kernel reads a row of a workgroup tile that every
// invocation of a row slot's lane reads at the same time (the plain path, for any device). Same
// functions and contract as lib/row_reads_subgroup.wgsl: the registers are the lane's whole
// slice, copied from workgroup memory. Prepended after lib/attention_rows.wgsl (D4MAX, DS4).
const ROW_REGS: u32 = D4MAX;

// The invocation's index in the workgroup as the kernel uses it: local_invocation_index.
fn rowInvocation(lid: u32) -> u32 { return lid; }

// Registers holding a row (DS4 vec4 per lane slice).
fn rowRegCount() -> u32 { return DS4; }

// The vec4 of the row that register m holds.
fn rowRegVec4(m: u32) -> u32 { return m; }

// Vec4 d of the row whose registers are regs.
fn rowVec4(regs: ptr<function, array<vec4<f32>, ROW_REGS>>, d: u32) -> vec4<f32> { return (*regs)[d]; }
