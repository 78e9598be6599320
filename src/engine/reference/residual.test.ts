import { it } from 'vitest';
import { residualBackward, residualForward } from './residual';
import { randArray, rng } from '../../../test/numeric';
import { checkGradients } from '../../../test/finite-diff';

it('residual backward matches finite differences', () => {
  const r = rng(1);
  const N = 13;
  const a = randArray(r, N);
  const b = randArray(r, N);
  const w = randArray(r, N); // L = sum(w · out)
  const loss = () => {
    const out = new Float64Array(N);
    residualForward(out, a, b, N);
    return out.reduce((s, v, i) => s + v * w[i], 0);
  };
  const da = new Float64Array(N);
  const db = new Float64Array(N);
  residualBackward(da, db, w, N);
  checkGradients({ a, b }, loss, { a: da, b: db });
});
