// global_norm_partial: pass 1 of the global gradient norm. Workgroup w of this dispatch writes
//   partials[slot + w] = bits of Σ grad[i]² over its strided share of grad[0..N)
// or the bits of +Inf when any of those elements is NaN/±Inf (or the sum overflows), so the
// finalize pass can tell a non-finite gradient apart without trusting f32 NaN comparisons
// (WGSL lets compilers assume NaN never occurs, so finiteness is tested on the bits).
// One dispatch per gradient buffer, G workgroups each, slots laid out by the launcher.
// Shapes: grad [N] f32 (a flat gradient buffer, any parameter shapes); partials [Σ G] u32.
// Bindings: 0 partials (rw), 1 grad (r), 2 params {N, slot}
// Needs blockSum/blockMax from a reduce_lib_*.wgsl, prepended by the launcher.
override WG: u32 = 256;

struct Params { N: u32, slot: u32 }

@group(0) @binding(0) var<storage, read_write> partials: array<u32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

const EXP_MASK: u32 = 0x7f800000u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var ss = 0.0;
  var bad = 0.0;
  for (var i = wid.x * WG + lid; i < p.N; i = i + nwg.x * WG) {
    let g = grad[i];
    if ((bitcast<u32>(g) & EXP_MASK) == EXP_MASK) { bad = 1.0; }
    ss = ss + g * g;
  }
  let total = blockSum(ss, lid);
  let anyBad = blockMax(bad, lid);
  if (lid == 0u) {
    let bits = bitcast<u32>(total);
    partials[p.slot + wid.x] = select(bits, EXP_MASK, anyBad != 0.0 || (bits & EXP_MASK) == EXP_MASK);
  }
}
