// crossentropy_forward: fused softmax cross-entropy over the vocabulary for a chunk of rows,
// writing the loss and, in place over the logits, the gradient of the scaled loss.
// For chunk row r (global row g = rowOffset + r) with target t = targets[g]:
//   losses[g] = logsumexp(logits[r, :]) − logits[r, t]                   (0 when ignored)
//   logits[r, v] ← (softmax(logits[r, :])[v] − [v = t]) · rowLossScale(g)  (0 when ignored)
// (the second only when writeGrad = 1; eval passes 0 and keeps the logits).
// rowLossScale(g) comes from the library the launcher prepends: lib/loss_scale_uniform.wgsl
// (lossScale, every row alike: SFT's mean) or lib/loss_scale_rows.wgsl (lossScale ·
// rowWeights[g / rowsPerWeight]: one weight per sequence, e.g. a preference objective's
// ∂L/∂logp). The library also declares the params binding, after its own.
// A row is ignored when t is the ignore index −100 (any t outside [0, V) is treated so).
// lossScale is 1 / (number of non-ignored targets in the whole batch), from the caller.
// Shapes: logits [rows, V] f32 (this chunk); targets [BT] i32 and losses [BT] f32 (whole
// batch, indexed from rowOffset), V the vocabulary.
// Bindings: 0 losses (rw), 1 logits (rw), 2 targets (r), [3 rowWeights (r) with the rows
// library], then params {rows, V, rowOffset, lossScale, writeGrad, rowsPerWeight}
// One workgroup per row; two passes over the row (online max/sum, then the gradient);
// needs blockSum/blockMax from a reduce_lib_*.wgsl, prepended by the launcher.
override WG: u32 = 256;

struct Params { rows: u32, V: u32, rowOffset: u32, lossScale: f32, writeGrad: u32, rowsPerWeight: u32 }

@group(0) @binding(0) var<storage, read_write> losses: array<f32>;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;

const LOWEST: f32 = -3.40282346638528859812e+38;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let rowId = wid.x + wid.y * nwg.x;
  let valid = rowId < p.rows; // rows past the chunk join the reductions but write nothing
  let row = min(rowId, p.rows - 1u);
  let base = row * p.V;
  let t = targets[p.rowOffset + row];
  let ignored = t < 0 || u32(t) >= p.V;
  let xt = logits[base + u32(clamp(t, 0, i32(p.V) - 1))]; // read before anyone overwrites the row

  // Online softmax statistics per invocation: running max m and sum of exp(x − m).
  var m = LOWEST;
  var s = 0.0;
  for (var v = lid; v < p.V; v = v + WG) {
    let x = logits[base + v];
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s = s + exp(x - m);
    }
  }
  let M = blockMax(m, lid);
  let S = blockSum(s * exp(m - M), lid);
  if (!valid) { return; }

  if (lid == 0u) {
    losses[p.rowOffset + row] = select(log(S) + M - xt, 0.0, ignored);
  }
  if (p.writeGrad == 0u) { return; }
  let scale = select(rowLossScale(p.rowOffset + row), 0.0, ignored);
  let invS = 1.0 / S;
  for (var v = lid; v < p.V; v = v + WG) {
    let prob = exp(logits[base + v] - M) * invS;
    logits[base + v] = (prob - select(0.0, 1.0, i32(v) == t)) * scale;
  }
}
