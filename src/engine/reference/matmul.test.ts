import { describe, expect, it } from 'vitest';
import { matmulBackward, matmulForward } from './matmul';
import { randArray, rng } from '../../../test/numeric';
import { checkGradients } from '../../../test/finite-diff';

describe('matmul reference', () => {
  it('forward matches a hand-computed case', () => {
    // inp [2,3], W [2,3], bias [2]
    const out = new Float64Array(4);
    matmulForward(out, [1, 2, 3, 4, 5, 6], [1, 0, -1, 2, 1, 0], [10, 20], 2, 3, 2);
    expect(Array.from(out)).toEqual([1 - 3 + 10, 2 + 2 + 20, 4 - 6 + 10, 8 + 5 + 20]);
  });

  it.each([
    [1, 1, 1],
    [1, 5, 3],
    [4, 7, 6],
  ])('backward matches finite differences (BT=%i C=%i OC=%i)', (BT, C, OC) => {
    const r = rng(BT * 100 + C * 10 + OC);
    const inp = randArray(r, BT * C);
    const W = randArray(r, OC * C);
    const bias = randArray(r, OC);
    const w = randArray(r, BT * OC); // L = Σ w · out, so dL/dout = w
    const loss = () => {
      const out = new Float64Array(BT * OC);
      matmulForward(out, inp, W, bias, BT, C, OC);
      return out.reduce((s, v, i) => s + v * w[i], 0);
    };
    const dinp = new Float64Array(BT * C);
    matmulBackward(dinp, w, W, BT, C, OC, { accumulate: false });
    checkGradients({ inp }, loss, { inp: dinp });
  });

  it('backward accumulate adds onto dinp', () => {
    const dinp = Float64Array.from([1, 2]);
    matmulBackward(dinp, [3], [5, 7], 1, 2, 1, { accumulate: true });
    expect(Array.from(dinp)).toEqual([16, 23]);
    matmulBackward(dinp, [3], [5, 7], 1, 2, 1, { accumulate: false });
    expect(Array.from(dinp)).toEqual([15, 21]);
  });
});
