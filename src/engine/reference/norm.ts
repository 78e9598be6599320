// float64 references of the step reductions: the loss sum and the global gradient norm with
// its clip factor and non-finite flag (same argument order as gpu/kernels/norm.ts).

/** out[outIndex] = scale · Σ inp[0..N) (+ the previous value when accumulating). */
export function reduceSum(out: Float64Array, inp: ArrayLike<number>, N: number, outIndex = 0, scale = 1, accumulate = false): void {
  let s = 0;
  for (let i = 0; i < N; i++) s += inp[i];
  out[outIndex] = (accumulate ? out[outIndex] : 0) + scale * s;
}

/** stats = [clip, nonFinite, norm, sumSq] over all gradient arrays (and the loss, if given). */
export function globalGradNorm(stats: Float64Array, grads: ArrayLike<number>[], maxNorm: number, loss: number | null = null): void {
  let sumSq = 0;
  let nonFinite = loss !== null && !Number.isFinite(loss);
  for (const g of grads) {
    for (let i = 0; i < g.length; i++) {
      if (!Number.isFinite(g[i])) nonFinite = true;
      sumSq += g[i] * g[i];
    }
  }
  const norm = Math.sqrt(sumSq);
  const clip = nonFinite ? 0 : maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
  stats[0] = clip;
  stats[1] = nonFinite ? 1 : 0;
  stats[2] = norm;
  stats[3] = sumSq;
}
