import { it } from 'vitest';
import { rmsnormBackward, rmsnormForward } from './rmsnorm';
import { randArray, rng } from '../../../test/numeric';
import { checkGradients } from '../../../test/finite-diff';

it('rmsnorm backward matches finite differences (and accumulates)', () => {
  const r = rng(11);
  const BT = 3;
  const C = 7;
  const eps = 1e-5;
  const x = randArray(r, BT * C);
  const w = randArray(r, C, 0.5, 1.5);
  const g = randArray(r, BT * C); // L = Σ g · out
  const loss = () => {
    const out = new Float64Array(BT * C);
    rmsnormForward(out, new Float64Array(BT), x, w, BT, C, eps);
    return out.reduce((s, v, i) => s + v * g[i], 0);
  };
  const rstd = new Float64Array(BT);
  rmsnormForward(new Float64Array(BT * C), rstd, x, w, BT, C, eps);
  const prior = randArray(r, BT * C);
  const dx = Float64Array.from(prior);
  rmsnormBackward(dx, g, x, w, rstd, BT, C);
  checkGradients({ x }, loss, { x: dx.map((v, i) => v - prior[i]) });
});
