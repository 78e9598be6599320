// Central finite differences in float64, for checking every backward reference.
import { expectClose } from './numeric';

/**
 * Checks analytic gradients of a scalar function L(x) for each named input.
 * `loss` reads the current contents of the inputs; `grads` gives dL/dx for each input
 * (computed once at the unperturbed point). Checks up to `maxProbe` indices per input.
 */
export function checkGradients(
  inputs: Record<string, Float64Array>,
  loss: () => number,
  grads: Record<string, ArrayLike<number>>,
  opts: { eps?: number; atol?: number; rtol?: number; maxProbe?: number } = {},
): void {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-6;
  const rtol = opts.rtol ?? 1e-5;
  const maxProbe = opts.maxProbe ?? 64;
  for (const [name, x] of Object.entries(inputs)) {
    const g = grads[name];
    if (!g) throw new Error(`checkGradients: no gradient given for ${name}`);
    const stride = Math.max(1, Math.floor(x.length / maxProbe));
    const idx: number[] = [];
    for (let i = 0; i < x.length; i += stride) idx.push(i);
    const numeric: number[] = [];
    const analytic: number[] = [];
    for (const i of idx) {
      const orig = x[i];
      x[i] = orig + eps;
      const lp = loss();
      x[i] = orig - eps;
      const lm = loss();
      x[i] = orig;
      numeric.push((lp - lm) / (2 * eps));
      analytic.push(g[i]);
    }
    expectClose(analytic, numeric, atol, rtol, `d${name} vs finite differences`);
  }
}
