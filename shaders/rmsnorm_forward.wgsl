// rmsnorm_forward: out[bt, c] = inp[bt, c] · rstd[bt] · (W_OFFSET + weight[c]),
//   rstd[bt] = 1 / sqrt(mean_c(inp[bt, c]²) + eps)   (saved for the backward)
// Shapes: out, inp [BT, C] f32; weight [C] f32; rstd [BT] f32. BT = B·T rows.
// Bindings: 0 out (rw), 1 rstd (rw), 2 inp (r), 3 weight (r), 4 params {BT, C, eps}
// One workgroup of WG invocations per row (2-D grid over rows); needs blockSum from
// reduce_lib_workgroup.wgsl or reduce_lib_subgroup.wgsl, prepended by the launcher.
override WG: u32 = 256;
// Added to every weight: 0 (Llama, Qwen) or 1 (Gemma scales by 1 + w, its weights are offsets).
override W_OFFSET: f32 = 0.0;

struct Params { BT: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(2) var<storage, read> inp: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  // Rows past BT still take part in the reductions (barriers need the whole group) but write nothing.
  let valid = row < p.BT;
  let base = min(row, p.BT - 1u) * p.C;
  var ss = 0.0;
  for (var c = lid; c < p.C; c = c + WG) {
    let x = inp[base + c];
    ss = ss + x * x;
  }
  let r = inverseSqrt(blockSum(ss, lid) / f32(p.C) + p.eps);
  if (!valid) { return; }
  for (var c = lid; c < p.C; c = c + WG) {
    out[base + c] = inp[base + c] * r * (W_OFFSET + weight[c]);
  }
  if (lid == 0u) { rstd[row] = r; }
}
