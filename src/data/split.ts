// Seeded randomness for the data pipeline: a small PRNG, shuffles, and the train/validation split.
// Same seed → same result on every platform (integer arithmetic only).
import { uniformSource } from '../engine/optim/rng';

/** Mulberry32: a fast 32-bit seeded PRNG returning floats in [0, 1) (the engine's generator). */
export const seededRandom = uniformSource;

/** Mixes two integers into one seed (so each epoch gets its own independent shuffle). */
export function mixSeed(seed: number, stream: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul((stream >>> 0) + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

/** A seeded permutation of 0..n-1 (Fisher–Yates). */
export function shuffledIndices(n: number, seed: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const rand = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx;
}

export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  return Array.from(shuffledIndices(items.length, seed), (i) => items[i]);
}

export interface SplitOptions {
  /** Share of items for validation, in [0, 1). */
  valFraction: number;
  seed: number;
}

/**
 * Seeded train/validation split. With valFraction > 0 and at least 2 items, validation gets at
 * least 1 item and training keeps at least 1. Both parts keep the input's order.
 */
export function splitTrainVal<T>(items: readonly T[], opts: SplitOptions): { train: T[]; val: T[] } {
  if (!(opts.valFraction >= 0 && opts.valFraction < 1)) throw new RangeError(`valFraction must be in [0, 1), got ${opts.valFraction}`);
  const n = items.length;
  let nVal = Math.round(n * opts.valFraction);
  if (opts.valFraction > 0 && n >= 2) nVal = Math.min(n - 1, Math.max(1, nVal));
  if (n < 2) nVal = 0;
  const order = shuffledIndices(n, mixSeed(opts.seed, 0x5eed));
  const isVal = new Uint8Array(n);
  for (let i = 0; i < nVal; i++) isVal[order[i]] = 1;
  const train: T[] = [];
  const val: T[] = [];
  items.forEach((x, i) => (isVal[i] ? val : train).push(x));
  return { train, val };
}
