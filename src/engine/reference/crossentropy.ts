// float64 reference of the fused softmax cross-entropy over a chunk of rows (see the shader
// crossentropy_forward.wgsl): per-row loss, and dlogits written over the logits in place.

export const IGNORE_INDEX = -100;

/**
 * For chunk row r (global row rowOffset + r) with target t: losses[rowOffset + r] =
 * logsumexp(logits[r]) − logits[r, t]; when writeGrad, logits[r, :] ← (softmax − onehot(t)) ·
 * lossScale. Rows whose target is outside [0, V) (the ignore index −100) get loss 0 and
 * gradient 0.
 */
export function crossentropyForward(
  losses: Float64Array,
  logits: Float64Array,
  targets: ArrayLike<number>,
  rows: number,
  V: number,
  rowOffset: number,
  lossScale: number,
  writeGrad = true,
  /** Per-sequence weights (the loss_scale_rows library): row g's scale is lossScale · weights[⌊g / rowsPerWeight⌋]. */
  rowWeights?: { weights: ArrayLike<number>; rowsPerWeight: number },
): void {
  for (let r = 0; r < rows; r++) {
    const t = targets[rowOffset + r];
    const ignored = t < 0 || t >= V;
    const row = logits.subarray(r * V, (r + 1) * V);
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, row[v]);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(row[v] - m);
    losses[rowOffset + r] = ignored ? 0 : Math.log(s) + m - row[t];
    if (!writeGrad) continue;
    const scale = rowWeights ? lossScale * rowWeights.weights[Math.floor((rowOffset + r) / rowWeights.rowsPerWeight)] : lossScale;
    for (let v = 0; v < V; v++) row[v] = ignored ? 0 : (Math.exp(row[v] - m) / s - (v === t ? 1 : 0)) * scale;
  }
}

