// Aggregation of per-example scores: the mean with a percentile-bootstrap interval, and the
// paired comparison of two systems on the same examples.

import { seededRandom } from '../data/split';

export interface BootstrapOptions {
  /** Seed of the resampling (the project's seeded generator, so a report is reproducible). */
  seed: number;
  /** Number of bootstrap resamples (default 2000). */
  resamples?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

/** A mean and its bootstrap interval. */
export interface MeanInterval {
  n: number;
  mean: number;
  lo: number;
  hi: number;
  /** Coverage of [lo, hi]. */
  level: number;
}

/** Quantile q of sorted values, linear between order statistics (numpy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const pos = q * (sorted.length - 1);
  const i = Math.floor(pos);
  const j = Math.min(i + 1, sorted.length - 1);
  return sorted[i] + (pos - i) * (sorted[j] - sorted[i]);
}

function mean(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/**
 * Mean with a percentile-bootstrap interval: resample the examples with replacement, take the
 * level's central quantiles of the resampled means. With the same seed and n, every system gets the
 * same resamples (common random numbers), so their intervals differ only by their scores.
 */
export function bootstrapMean(values: readonly number[], opts: BootstrapOptions): MeanInterval {
  const n = values.length;
  if (n === 0) throw new RangeError('bootstrapMean: no values (an evaluation needs at least one example)');
  const resamples = opts.resamples ?? 2000;
  const level = opts.level ?? 0.95;
  const rand = seededRandom(opts.seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += values[Math.floor(rand() * n)];
    means[b] = s / n;
  }
  means.sort();
  const tail = (1 - level) / 2;
  return { n, mean: mean(values), lo: quantile(means, tail), hi: quantile(means, 1 - tail), level };
}

/** Scores closer than this count as a tie (float noise, not a difference). */
export const TIE_TOLERANCE = 1e-9;

/** System A against system B on the same examples, one metric. */
export interface PairedComparison {
  /** Examples where A scores higher, the same, lower. */
  wins: number;
  ties: number;
  losses: number;
  /** Mean of A − B with its bootstrap interval. */
  diff: MeanInterval;
}

export function comparePaired(a: readonly number[], b: readonly number[], opts: BootstrapOptions): PairedComparison {
  if (a.length !== b.length) throw new RangeError(`comparePaired: ${a.length} scores against ${b.length}; a paired comparison needs the same examples`);
  const d = a.map((x, i) => x - b[i]);
  const wins = d.filter((x) => x > TIE_TOLERANCE).length;
  const losses = d.filter((x) => x < -TIE_TOLERANCE).length;
  return { wins, ties: d.length - wins - losses, losses, diff: bootstrapMean(d, opts) };
}
