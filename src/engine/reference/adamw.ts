// float64 reference of one AdamW step (torch.optim.AdamW: decoupled weight decay, bias
// correction), same argument order as gpu/kernels/adamw.ts.

export type { AdamWHyper } from '../gpu/kernels/adamw';
import type { AdamWHyper } from '../gpu/kernels/adamw';

/**
 * Updates param, m, v in place from grad[N]. gradScale (optional) = [clip, nonFinite]: the
 * gradient is multiplied by gradScale[0], and nothing changes when gradScale[1] ≠ 0.
 */
export function adamwUpdate(
  param: Float64Array,
  m: Float64Array,
  v: Float64Array,
  grad: ArrayLike<number>,
  gradScale: ArrayLike<number> | null,
  N: number,
  hp: AdamWHyper,
): void {
  if (gradScale && gradScale[1] !== 0) return;
  const scale = gradScale ? gradScale[0] : 1;
  const bc1 = 1 - hp.beta1 ** hp.t;
  const bc2 = 1 - hp.beta2 ** hp.t;
  for (let i = 0; i < N; i++) {
    const g = grad[i] * scale;
    m[i] = hp.beta1 * m[i] + (1 - hp.beta1) * g;
    v[i] = hp.beta2 * v[i] + (1 - hp.beta2) * g * g;
    param[i] = param[i] * (1 - hp.lr * hp.weightDecay) - (hp.lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + hp.eps);
  }
}
