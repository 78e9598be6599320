// sample_topp: the final step of temperature + top-k + top-p sampling, on the K candidates
// sample_topk left sorted (larger logit first, lower index among ties).
//   w_i = exp((v_i - v_0)·invTemp); Z = Σ_{i<K} w_i
//   keep the shortest prefix with mass >= topP·Z (token i stays while the mass before it is < topP·Z)
//   r = u·(kept mass); pick the first kept i with cumulative mass > r (the last kept if none)
//   out = (token index, f32 bits of w_pick / kept mass)
// u is a uniform number in [0, 1) drawn on the CPU, so runs are seeded and reproducible.
// Candidates with index 0xffffffff (when V < K) are padding and get weight 0.
// Shapes: out u32 [2]; cand Cand [K], K <= 256.
// Bindings: 0 out (rw), 1 cand, 2 params {K, invTemp, topP, u}
// Grid: (1). One invocation walks the K <= 256 candidates: tiny next to the top-k pass.
struct Cand { i: u32, v: f32 }
struct Params { K: u32, invTemp: f32, topP: f32, u: f32 }

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<storage, read> cand: array<Cand>;
@group(0) @binding(2) var<uniform> p: Params;

fn weight(i: u32, v0: f32) -> f32 {
  let c = cand[i];
  return select(exp((c.v - v0) * p.invTemp), 0.0, c.i == 0xffffffffu);
}

@compute @workgroup_size(1)
fn main() {
  let v0 = cand[0].v;
  var Z = 0.0;
  for (var i = 0u; i < p.K; i++) { Z += weight(i, v0); }
  var kept = 0u;
  var mass = 0.0;
  loop {
    if (kept >= p.K || (kept > 0u && mass >= p.topP * Z)) { break; }
    mass += weight(kept, v0);
    kept++;
  }
  let r = p.u * mass;
  var cum = 0.0;
  var pick = kept - 1u;
  for (var i = 0u; i < kept; i++) {
    cum += weight(i, v0);
    if (cum > r) { pick = i; break; }
  }
  out[0] = cand[pick].i;
  out[1] = bitcast<u32>(weight(pick, v0) / mass);
}
