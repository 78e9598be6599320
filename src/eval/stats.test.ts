import { expect, it } from 'vitest';
import { bootstrapMean, comparePaired, quantile } from './stats';

it('quantile interpolates linearly between order statistics (numpy default)', () => {
  expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
  expect(quantile(Array.from({ length: 101 }, (_, i) => i), 0.025)).toBeCloseTo(2.5, 12);
  expect(quantile([7], 0.975)).toBe(7);
});

it('bootstrapMean: the sample mean, an interval that collapses for constant scores, reproducible by seed', () => {
  const c = bootstrapMean([0.5, 0.5, 0.5], { seed: 1, resamples: 200 }); // 0.5 sums exactly
  expect(c).toEqual({ n: 3, mean: 0.5, lo: 0.5, hi: 0.5, level: 0.95 });
  const v = Array.from({ length: 30 }, (_, i) => Math.sqrt(i)); // resampled means nearly all distinct
  expect(bootstrapMean(v, { seed: 5 })).toEqual(bootstrapMean(v, { seed: 5 }));
  expect(bootstrapMean(v, { seed: 5 }).lo).not.toBe(bootstrapMean(v, { seed: 6 }).lo); // the seed drives the resamples
  expect(() => bootstrapMean([], { seed: 1 })).toThrow(RangeError);
});

it('bootstrapMean: 50 ones in 100 give about mean ± 1.96·0.05 (the normal approximation)', () => {
  const v = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const r = bootstrapMean(v, { seed: 42, resamples: 4000 });
  expect(r.mean).toBe(0.5);
  expect(Math.abs(r.lo - 0.402)).toBeLessThan(0.02);
  expect(Math.abs(r.hi - 0.598)).toBeLessThan(0.02);
  const narrow = bootstrapMean(v, { seed: 42, resamples: 4000, level: 0.5 });
  expect(narrow.lo).toBeGreaterThan(r.lo);
  expect(narrow.hi).toBeLessThan(r.hi);
});

it('comparePaired: wins, ties (within float noise), losses and the interval of the mean difference', () => {
  const a = [1, 0.5, 0.3, 0, 0.1 + 0.2];
  const b = [0, 0.5, 0.4, 0, 0.3];
  const r = comparePaired(a, b, { seed: 3 });
  expect([r.wins, r.ties, r.losses]).toEqual([1, 3, 1]);
  expect(r.diff.mean).toBeCloseTo(0.9 / 5, 12);
  expect(r.diff.lo).toBeLessThanOrEqual(r.diff.mean);
  expect(r.diff.hi).toBeGreaterThanOrEqual(r.diff.mean);
  expect(() => comparePaired([1], [1, 2], { seed: 3 })).toThrow(/same examples/);
});
