import { expect, it } from 'vitest';
import { ropeBackward, ropeForward } from './rope';
import { randArray, rng } from '../../../test/numeric';
import { checkGradients } from '../../../test/finite-diff';

it('rope backward matches finite differences', () => {
  const r = rng(3);
  const [BT, NH, D] = [3, 2, 6];
  const invFreq = [1, 0.3, 0.01];
  const pos = [0, 5, 1234];
  const x = randArray(r, BT * NH * D);
  const w = randArray(r, BT * NH * D);
  const loss = () => {
    const out = new Float64Array(x.length);
    ropeForward(out, x, invFreq, pos, BT, NH, D);
    return out.reduce((s, v, i) => s + v * w[i], 0);
  };
  const dx = new Float64Array(x.length);
  ropeBackward(dx, w, invFreq, pos, BT, NH, D);
  checkGradients({ x }, loss, { x: dx });
});

it('rope at position 0 is the identity and pairs i with i + D/2', () => {
  const x = Float64Array.from([1, 2, 3, 4]);
  const out = new Float64Array(4);
  ropeForward(out, x, [1, 1], [0], 1, 1, 4);
  expect(Array.from(out)).toEqual([1, 2, 3, 4]);
  ropeForward(out, x, [Math.PI / 2, 0], [1], 1, 1, 4); // angle π/2 on pair (0, 2): (1, 3) → (−3, 1)
  expect(out[0]).toBeCloseTo(-3, 6);
  expect(out[2]).toBeCloseTo(1, 6);
  expect(out[1]).toBe(2);
  expect(out[3]).toBe(4);
});
