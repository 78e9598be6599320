// reduce_sum: out[outIndex] (+)= scale · Σ_{i<N} inp[i]   (e.g. the batch loss from per-row losses)
// Overwrites when accumulate = 0, adds to the previous value when 1 (gradient accumulation).
// Shapes: inp [N] f32 (N = B·T rows); out [≥ outIndex+1] f32.
// Bindings: 0 out (rw), 1 inp (r), 2 params {N, outIndex, scale, accumulate}
// A single workgroup strides over N (N is a few thousand) in a fixed order: deterministic.
// Needs blockSum from a reduce_lib_*.wgsl, prepended by the launcher.
override WG: u32 = 256;

struct Params { N: u32, outIndex: u32, scale: f32, accumulate: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < p.N; i = i + WG) { s = s + inp[i]; }
  let total = blockSum(s, lid) * p.scale;
  if (lid == 0u) {
    out[p.outIndex] = select(0.0, out[p.outIndex], p.accumulate != 0u) + total;
  }
}
