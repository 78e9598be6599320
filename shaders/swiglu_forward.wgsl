// swiglu_forward: out[i] = act(gate[i]) · up[i], the gated MLP activation, one source for:
//   ACT 0 (SwiGLU, Llama/Qwen): act(g) = silu(g) = g · sigmoid(g)
//   ACT 1 (GeGLU, Gemma):       act(g) = gelu_tanh(g) = 0.5·g·(1 + tanh(√(2/π)·(g + 0.044715·g³)))
// Both are g · sigmoid(z(g)) (0.5·(1 + tanh(u)) = sigmoid(2u)), computed as such: exp(-z)
// overflowing to +inf gives 0, never the NaN of a naive tanh. z(g) is in lib/gated_act.wgsl.
// Shapes: out, gate, up [BT, F] f32, flattened to N = BT·F elements.
// Bindings: 0 out (rw), 1 gate (r), 2 up (r), 3 params {N}
override WG: u32 = 256;

struct Params { N: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  let g = gate[i];
  // exp(-z) overflows to +inf for z < -88: the sigmoid is then 0 and act -0, as it should be.
  out[i] = g / (1.0 + exp(-gateArg(g))) * up[i];
}
