// lib/loss_scale_rows: the loss scale of a row-loss kernel (crossentropy_forward) with one weight
// per sequence: p.lossScale · rowWeights[g / p.rowsPerWeight] (rowsPerWeight = T: a batch row is
// one sequence). A preference objective writes rowWeights on the GPU (preference_weights.wgsl),
// so no step reads anything back before its backward. Declares bindings 3 (rowWeights [B] f32)
// and 4 (the kernel's params). The kernel declares `struct Params`.
@group(0) @binding(3) var<storage, read> rowWeights: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn rowLossScale(g: u32) -> f32 {
  return p.lossScale * rowWeights[g / p.rowsPerWeight];
}
