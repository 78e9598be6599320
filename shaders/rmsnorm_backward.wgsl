// rmsnorm_backward: dx only (weight is frozen), accumulated into dinp as llm.c does:
//   dinp[bt, c] += rstd · w[c]·dout[bt, c] − rstd³/C · inp[bt, c] · Σ_j w[j]·dout[bt, j]·inp[bt, j]
//   with w = W_OFFSET + weight (the forward's scale)
// Shapes: dinp, dout, inp [BT, C] f32; weight [C] f32; rstd [BT] f32 (from the forward).
// Bindings: 0 dinp (rw), 1 dout (r), 2 inp (r), 3 weight (r), 4 rstd (r), 5 params {BT, C}
// One workgroup of WG invocations per row; needs blockSum from a reduce_lib_*.wgsl.
override WG: u32 = 256;
// Added to every weight: 0 (Llama, Qwen) or 1 (Gemma scales by 1 + w, its weights are offsets).
override W_OFFSET: f32 = 0.0;

struct Params { BT: u32, C: u32 }

@group(0) @binding(0) var<storage, read_write> dinp: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> inp: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  let valid = row < p.BT;
  let r0 = min(row, p.BT - 1u);
  let base = r0 * p.C;
  var dot = 0.0;
  for (var c = lid; c < p.C; c = c + WG) {
    dot = dot + (W_OFFSET + weight[c]) * dout[base + c] * inp[base + c];
  }
  let total = blockSum(dot, lid);
  if (!valid) { return; }
  let r = rstd[r0];
  let k = r * r * r * total / f32(p.C);
  for (var c = lid; c < p.C; c = c + WG) {
    dinp[base + c] = dinp[base + c] + r * (W_OFFSET + weight[c]) * dout[base + c] - k * inp[base + c];
  }
}
