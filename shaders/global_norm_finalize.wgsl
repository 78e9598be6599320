// global_norm_finalize: pass 2 of the global gradient norm, plus the clip factor and the
// non-finite flag, all on the GPU so a step needs no CPU round trip:
//   sumSq    = Σ partials (pass 1 results, f32 bits)
//   nonFinite = 1 if any partial is non-finite or (hasLoss) loss[lossIndex] is NaN/±Inf, else 0
//   norm     = sqrt(sumSq)
//   clip     = 0 if nonFinite, else min(1, maxNorm / (norm + 1e-6)) when maxNorm > 0, else 1
//   stats    = [clip, nonFinite, norm, sumSq]   (AdamW reads stats[0] and stats[1])
// Shapes: partials [count] u32; loss [≥ lossIndex+1] f32; stats [4] f32.
// Bindings: 0 stats (rw), 1 partials (r), 2 loss (r), 3 params {count, maxNorm, lossIndex, hasLoss}
// Single workgroup; needs blockSum/blockMax from a reduce_lib_*.wgsl, prepended by the launcher.
override WG: u32 = 256;

struct Params { count: u32, maxNorm: f32, lossIndex: u32, hasLoss: u32 }

@group(0) @binding(0) var<storage, read_write> stats: array<f32>;
@group(0) @binding(1) var<storage, read> partials: array<u32>;
@group(0) @binding(2) var<storage, read> loss: array<u32>; // f32 bits
@group(0) @binding(3) var<uniform> p: Params;

const EXP_MASK: u32 = 0x7f800000u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var ss = 0.0;
  var bad = 0.0;
  for (var i = lid; i < p.count; i = i + WG) {
    let b = partials[i];
    if ((b & EXP_MASK) == EXP_MASK) { bad = 1.0; } else { ss = ss + bitcast<f32>(b); }
  }
  if (lid == 0u && p.hasLoss != 0u && (loss[p.lossIndex] & EXP_MASK) == EXP_MASK) { bad = 1.0; }
  let sumSq = blockSum(ss, lid);
  let nonFinite = blockMax(bad, lid) != 0.0 || (bitcast<u32>(sumSq) & EXP_MASK) == EXP_MASK;
  if (lid == 0u) {
    let norm = sqrt(sumSq);
    var clip = 1.0;
    if (p.maxNorm > 0.0) { clip = min(1.0, p.maxNorm / (norm + 1e-6)); }
    stats[0] = select(clip, 0.0, nonFinite);
    stats[1] = select(0.0, 1.0, nonFinite);
    stats[2] = norm;
    stats[3] = sumSq;
  }
}
