// lib/loss_scale_uniform: the loss scale of a row-loss kernel (crossentropy_forward) when every
// row counts alike: p.lossScale (1 / targets of the step, SFT's mean). Declares the kernel's
// params binding (3, after losses, logits, targets). The kernel declares `struct Params`.
@group(0) @binding(3) var<uniform> p: Params;

fn rowLossScale(g: u32) -> f32 {
  return p.lossScale;
}
