import { it } from 'vitest';
import { swigluBackward, swigluForward } from './swiglu';
import { randArray, rng } from '../../../test/numeric';
import { checkGradients } from '../../../test/finite-diff';

it('swiglu backward matches finite differences (and accumulates)', () => {
  const r = rng(5);
  const N = 17;
  const gate = randArray(r, N, -6, 6);
  const up = randArray(r, N, -2, 2);
  const w = randArray(r, N);
  const loss = () => {
    const out = new Float64Array(N);
    swigluForward(out, gate, up, N);
    return out.reduce((s, v, i) => s + v * w[i], 0);
  };
  const p1 = randArray(r, N);
  const p2 = randArray(r, N);
  const dg = Float64Array.from(p1);
  const du = Float64Array.from(p2);
  swigluBackward(dg, du, w, gate, up, N);
  checkGradients({ gate, up }, loss, { gate: dg.map((v, i) => v - p1[i]), up: du.map((v, i) => v - p2[i]) });
});
