import { expect, it } from 'vitest';
import { rmsnormBackward, rmsnormForward } from './rmsnorm';
import { randArray, rng } from '../../../test/numeric';
import { checkGradients } from '../../../test/finite-diff';

it.each([0, 1])('rmsnorm backward (weight offset %i: Gemma scales by 1 + w) matches finite differences (and accumulates)', (offset) => {
  const r = rng(11);
  const BT = 3;
  const C = 7;
  const eps = 1e-5;
  const x = randArray(r, BT * C);
  const w = randArray(r, C, 0.5, 1.5);
  const g = randArray(r, BT * C); // L = Σ g · out
  const loss = () => {
    const out = new Float64Array(BT * C);
    rmsnormForward(out, new Float64Array(BT), x, w, BT, C, eps, offset);
    return out.reduce((s, v, i) => s + v * g[i], 0);
  };
  const rstd = new Float64Array(BT);
  rmsnormForward(new Float64Array(BT * C), rstd, x, w, BT, C, eps, offset);
  const prior = randArray(r, BT * C);
  const dx = Float64Array.from(prior);
  rmsnormBackward(dx, g, x, w, rstd, BT, C, offset);
  checkGradients({ x }, loss, { x: dx.map((v, i) => v - prior[i]) });
});

it('offset 1 scales by 1 + w: equals offset 0 with w + 1', () => {
  const r = rng(12);
  const [BT, C] = [2, 5];
  const x = randArray(r, BT * C);
  const w = randArray(r, C, -0.3, 0.3);
  const [a, b] = [new Float64Array(BT * C), new Float64Array(BT * C)];
  rmsnormForward(a, new Float64Array(BT), x, w, BT, C, 1e-6, 1);
  rmsnormForward(b, new Float64Array(BT), x, w.map((v) => v + 1), BT, C, 1e-6);
  for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 14);
});
