enable f16;
// lib/weights_f16: the weight reader for f16 frozen weights (stored f16, read as f32, so
// products and sums stay f32). Contract as in lib/weights_f32.wgsl; needs shader-f16.
alias WeightStore = f16;

fn loadWeight(i: u32) -> f32 {
  return f32(weight[i]);
}

fn loadWeight4(i: u32) -> vec4<f32> {
  return vec4<f32>(vec4<f16>(weight[i], weight[i + 1u], weight[i + 2u], weight[i + 3u]));
}
