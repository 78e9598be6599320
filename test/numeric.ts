// Numeric helpers for tests: a seeded RNG and a tolerance check that reports the worst element.
import { expect } from 'vitest';
import { uniformSource } from '../src/engine/optim/rng';

/** Mulberry32 (the engine's seeded generator): small, fast; good enough for test data. */
export const rng = uniformSource;

/** n uniform values in [lo, hi). */
export function randArray(r: () => number, n: number, lo = -1, hi = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

export function randInt(r: () => number, lo: number, hiInclusive: number): number {
  return lo + Math.floor(r() * (hiInclusive - lo + 1));
}

/** Asserts |got - want| <= atol + rtol·|want| element-wise, naming the worst index. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number, what = 'values'): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    const excess = Math.abs(g - w) - (atol + rtol * Math.abs(w));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`${what}: element ${worst} is ${got[worst]}, expected ${want[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}
