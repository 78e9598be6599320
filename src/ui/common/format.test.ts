import { describe, expect, it } from 'vitest';
import { formatBytes, formatExampleCount, histogram, percentile } from './format';

describe('display helpers', () => {
  it('buckets values with every value counted once', () => {
    const v = [0, 1, 5, 9, 10, 99, 100];
    const h = histogram(v, 10);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(v.length);
    expect(h.edges.length).toBe(11);
    expect(h.counts[9]).toBeGreaterThan(0); // the max lands in the last bucket
    expect(histogram([], 4).counts).toEqual([0, 0, 0, 0]);
  });
  it('formats sizes and percentiles', () => {
    expect(formatBytes(1536)).toBe('2 KiB');
    expect(formatBytes(3 * 2 ** 20)).toBe('3.0 MiB');
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(3);
  });
  it('counts a dataset in the words of what it holds', () => {
    expect(formatExampleCount(300, false)).toBe('300 examples');
    expect(formatExampleCount(1, false)).toBe('1 example');
    expect(formatExampleCount(40, true)).toBe('40 preference pairs');
    expect(formatExampleCount(1, true)).toBe('1 preference pair');
    // Saved by an older version: nothing says pairs.
    expect(formatExampleCount(2, undefined)).toBe('2 examples');
  });
});
