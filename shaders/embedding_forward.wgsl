// embedding_forward: out[bt, c] = wte[ids[bt], c] · scale   (token embedding lookup, output f32;
// scale 1, or Gemma's √C: its tied table is also the LM head, so the scale cannot live in the table)
// Shapes: out [BT, C] f32; ids [BT] u32; wte [V, C] in any weight format (the launcher
// prepends a weight reader, lib/weights_*.wgsl), bound as the row range
// [rowStart, rowStart + rowCount) so a table over the 128 MiB binding limit is covered by
// several dispatches. Each dispatch writes the rows whose id falls in its range; with
// zeroOutside = 1 (the first dispatch) it also zeroes the other rows, so ids ≥ V give zeros.
// Bindings: 0 out (rw), 1 ids (r), 2 weight = the wte range (r), 3 params {BT, C, rowStart, rowCount, zeroOutside, scale}
override WG: u32 = 256;

struct Params { BT: u32, C: u32, rowStart: u32, rowCount: u32, zeroOutside: u32, scale: f32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> weight: array<WeightStore>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.BT * p.C) { return; }
  let bt = i / p.C;
  let c = i - bt * p.C;
  let row = ids[bt] - p.rowStart; // wraps for ids below the range: caught by the bound check
  if (row < p.rowCount) {
    out[i] = loadWeight(row * p.C + c) * p.scale;
  } else if (p.zeroOutside != 0u) {
    out[i] = 0.0;
  }
}
