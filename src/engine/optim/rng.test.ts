import { expect, it } from 'vitest';
import { Rng, mixSeed } from './rng';

it('Rng: a saved state replays the same sequence; values in [0, 1)', () => {
  const a = new Rng(123);
  for (let i = 0; i < 10; i++) a.next();
  const saved = a.state;
  const want = Array.from({ length: 20 }, () => a.next());
  const b = new Rng(0);
  b.state = saved;
  expect(Array.from({ length: 20 }, () => b.next())).toEqual(want);
  expect(want.every((x) => x >= 0 && x < 1)).toBe(true);
  expect(Number.isInteger(a.nextU32()) && a.nextU32() >= 0).toBe(true);
});

it('mixSeed: distinct (seed, step, micro, layer, module) tuples give distinct u32 seeds', () => {
  const seen = new Set<number>();
  for (let step = 0; step < 20; step++) for (let layer = 0; layer < 30; layer++) for (let m = 0; m < 7; m++) seen.add(mixSeed(mixSeed(1, step, 0), layer, m));
  expect(seen.size).toBe(20 * 30 * 7);
  for (const s of seen) expect(s >>> 0).toBe(s);
  expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
});
