import { expect, it } from 'vitest';
import { crossentropyForward, IGNORE_INDEX } from './crossentropy';
import { randArray, rng } from '../../../test/numeric';
import { checkGradients } from '../../../test/finite-diff';

it('crossentropy dlogits are the gradient of lossScale · Σ losses (finite differences)', () => {
  const r = rng(9);
  const [rows, V, rowOffset] = [4, 11, 2];
  const targets = [5, 5, 3, IGNORE_INDEX, 10, 0];
  const logits = randArray(r, rows * V, -4, 4);
  const lossScale = 1 / 3;
  const loss = () => {
    const losses = new Float64Array(targets.length);
    crossentropyForward(losses, Float64Array.from(logits), targets, rows, V, rowOffset, lossScale, false);
    return lossScale * losses.reduce((a, b) => a + b, 0);
  };
  const grad = Float64Array.from(logits);
  const losses = new Float64Array(targets.length);
  crossentropyForward(losses, grad, targets, rows, V, rowOffset, lossScale);
  checkGradients({ logits }, loss, { logits: grad }, { maxProbe: 100 });
  expect(losses[0]).toBe(0); // outside the chunk: untouched
  expect(losses[2 + 1]).toBe(0); // ignored row
  expect(Array.from(grad.subarray(V, 2 * V)).every((g) => g === 0)).toBe(true);
  // The loss is −log softmax(target).
  const row0 = logits.subarray(0, V);
  const z = row0.reduce((a, x) => a + Math.exp(x), 0);
  expect(losses[2]).toBeCloseTo(-Math.log(Math.exp(row0[3]) / z), 12);
});
