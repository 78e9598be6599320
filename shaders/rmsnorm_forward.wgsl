// rmsnorm_forward: out[bt, c] = inp[bt, c] · rstd[bt] · (W_OFFSET + weight[c]),
//   rstd[bt] = 1 / sqrt(mean_c(inp[bt, c]²) + eps)   (saved for the backward)
// Entry point main_residual fuses the residual add before it (one dispatch instead of two):
//   sum[bt, c] = inp[bt, c] + inp2[bt, c] (written), then the norm above of sum.
// Shapes: out, inp, inp2, sum [BT, C] f32; weight [C] f32; rstd [BT] f32. BT = B·T rows.
// Bindings: main: 0 out (rw), 1 rstd (rw), 2 inp (r), 3 weight (r), 4 params {BT, C, eps};
//   main_residual: 0 out, 1 rstd, 2 inp, 3 weight, 4 inp2 (r), 5 sum (rw), 6 params. The two
//   entry points give binding 4 different variables (allowed: each pipeline's interface has one).
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
@group(0) @binding(4) var<storage, read> inp2: array<f32>;
@group(0) @binding(5) var<storage, read_write> sum: array<f32>;
@group(0) @binding(6) var<uniform> pr: Params;

// Both entry points: the row this workgroup norms (clamped: rows past BT still take part in
// the reductions, as barriers need the whole group, but write nothing), and the norm's scale.
// The params come in as an argument: each entry point has its own uniform binding.
fn rowBase(P: Params, wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return min(wid.x + wid.y * nwg.x, P.BT - 1u) * P.C; }
fn rowValid(P: Params, wid: vec3<u32>, nwg: vec3<u32>) -> bool { return wid.x + wid.y * nwg.x < P.BT; }
fn rowRstd(P: Params, ss: f32, lid: u32) -> f32 { return inverseSqrt(blockSum(ss, lid) / f32(P.C) + P.eps); }
fn normed(x: f32, r: f32, c: u32) -> f32 { return x * r * (W_OFFSET + weight[c]); }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let P = p;
  let base = rowBase(P, wid, nwg);
  var ss = 0.0;
  for (var c = lid; c < P.C; c = c + WG) {
    let x = inp[base + c];
    ss = ss + x * x;
  }
  let r = rowRstd(P, ss, lid);
  if (!rowValid(P, wid, nwg)) { return; }
  for (var c = lid; c < P.C; c = c + WG) {
    out[base + c] = normed(inp[base + c], r, c);
  }
  if (lid == 0u) { rstd[base / P.C] = r; }
}

@compute @workgroup_size(WG)
fn main_residual(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let P = pr;
  let base = rowBase(P, wid, nwg);
  let valid = rowValid(P, wid, nwg);
  var ss = 0.0;
  for (var c = lid; c < P.C; c = c + WG) {
    let x = inp[base + c] + inp2[base + c];
    if (valid) { sum[base + c] = x; }
    ss = ss + x * x;
  }
  let r = rowRstd(P, ss, lid);
  if (!valid) { return; }
  // Each invocation reads back only the sums it wrote itself: no barrier needed.
  for (var c = lid; c < P.C; c = c + WG) {
    out[base + c] = normed(sum[base + c], r, c);
  }
  if (lid == 0u) { rstd[base / P.C] = r; }
}
