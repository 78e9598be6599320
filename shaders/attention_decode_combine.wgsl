// attention_decode_combine: second pass of one-token decode attention (n query rows); merges
// the per-chunk partials of attention_decode with the usual logsumexp rescaling:
//   M = max_c m_c,  L = Σ_c l_c·exp(m_c - M),  out[i, h, d] = Σ_c o_c[d]·exp(m_c - M) / L
// Shapes: out [n, H, D]; part [n, H, nChunks, D + 2] (o[0..D), m, l).
// Bindings: 0 out (rw), 1 part, 2 params {nChunks, H, D}
// Grid: (H, n). One invocation per d (looping when D > WG).
override WG: u32 = 64;

struct Params { nChunks: u32, H: u32, D: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let hi = wid.y * p.H + wid.x; // (row, head)
  let D = p.D;
  let stride = D + 2u;
  let base = hi * p.nChunks * stride;
  var M = -1e30;
  for (var c = 0u; c < p.nChunks; c++) { M = max(M, part[base + c * stride + D]); }
  var L = 0.0;
  for (var c = 0u; c < p.nChunks; c++) {
    L += part[base + c * stride + D + 1u] * exp(part[base + c * stride + D] - M);
  }
  for (var d = tid; d < D; d += WG) {
    var o = 0.0;
    for (var c = 0u; c < p.nChunks; c++) {
      o += part[base + c * stride + d] * exp(part[base + c * stride + D] - M);
    }
    out[hi * D + d] = o / L;
  }
}
