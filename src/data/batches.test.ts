import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BatchIterator } from './batches';
import type { Batch } from './batches';
import { IGNORE_INDEX } from './tokenize';
import type { TokenizedExample } from './tokenize';
import { splitTrainVal, shuffledIndices } from './split';

/**
 * Synthetic examples whose token ids encode (row, position) so every token can be traced back:
 * id = row * 1000 + t + 1. The first `promptLen` tokens are untrained.
 */
function example(row: number, len: number, promptLen: number): TokenizedExample {
  const inputIds = Int32Array.from({ length: len }, (_, t) => row * 1000 + t + 1);
  const labels = Int32Array.from(inputIds, (id, t) => (t < promptLen ? IGNORE_INDEX : id));
  return { row, inputIds, labels };
}

function dataset(n: number, seed: number, maxLen = 20): TokenizedExample[] {
  let s = seed;
  const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  return Array.from({ length: n }, (_, row) => {
    const len = 2 + Math.floor(r() * (maxLen - 1));
    return example(row, len, Math.floor(r() * (len - 1)));
  });
}

/** Checks every invariant of one batch against the source examples. */
function checkBatch(batch: Batch, byRow: Map<number, TokenizedExample>, T: number) {
  let numTargets = 0;
  const rowsSeen: number[] = [];
  for (let b = 0; b < batch.B; b++) {
    let t = 0;
    while (t < T) {
      const o = b * T + t;
      const seg = batch.segmentIds[o];
      if (seg === 0) {
        // Padding: to the end of the row, never trained.
        for (let u = t; u < T; u++) {
          expect(batch.segmentIds[b * T + u]).toBe(0);
          expect(batch.targets[b * T + u]).toBe(IGNORE_INDEX);
        }
        break;
      }
      const row = Math.floor((batch.inputIds[o] - 1) / 1000);
      const ex = byRow.get(row)!;
      rowsSeen.push(row);
      const len = Math.min(ex.inputIds.length, T);
      for (let k = 0; k < len; k++) {
        const p = b * T + t + k;
        expect(batch.segmentIds[p]).toBe(seg);
        expect(batch.positions[p]).toBe(k); // positions restart for every packed sequence
        expect(batch.inputIds[p]).toBe(ex.inputIds[k]);
        // Shifted targets: next token's label within the same sequence; none at its end.
        const want = k + 1 < len ? ex.labels[k + 1] : IGNORE_INDEX;
        expect(batch.targets[p]).toBe(want);
        if (want !== IGNORE_INDEX) numTargets++;
      }
      t += len;
      if (t < T) expect(batch.segmentIds[b * T + t]).not.toBe(seg); // a boundary changes the segment
    }
  }
  expect(batch.numTargets).toBe(numTargets);
  expect(rowsSeen).toEqual(batch.rows);
}

describe('BatchIterator', () => {
  it('packs without splitting examples, positions restart, targets shift within each sequence', () => {
    const data = dataset(57, 1, 30);
    const byRow = new Map(data.map((e) => [e.row, e]));
    for (const packing of [true, false]) {
      const it = new BatchIterator(data, { B: 3, T: 32, seed: 7, packing });
      const seen: number[] = [];
      for (const batch of it.epochBatches(0)) {
        expect(batch.inputIds.length).toBe(3 * 32);
        checkBatch(batch, byRow, 32);
        seen.push(...batch.rows);
      }
      // Each usable example exactly once per epoch.
      const usable = data.filter((e) => !it.skippedRows.includes(e.row)).map((e) => e.row);
      expect(seen.sort((a, b) => a - b)).toEqual(usable);
      if (!packing) expect(it.rowsPerEpoch).toBe(usable.length);
      else {
        // Packing is dense: within 25% of the lower bound ceil(tokens / T).
        const tokens = data.filter((e) => usable.includes(e.row)).reduce((n, e) => n + Math.min(32, e.inputIds.length), 0);
        expect(it.rowsPerEpoch).toBeLessThanOrEqual(Math.ceil(1.25 * Math.ceil(tokens / 32)));
        expect(it.rowsPerEpoch).toBeLessThan(usable.length);
      }
    }
  });

  it('property: invariants hold for random shapes, including T smaller than examples and B=1', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 2, max: 40 }),
        fc.integer(),
        fc.boolean(),
        (n, B, T, seed, packing) => {
          const data = dataset(n, seed, 25);
          const byRow = new Map(data.map((e) => [e.row, e]));
          let it: BatchIterator;
          try {
            it = new BatchIterator(data, { B, T, seed, packing });
          } catch (e) {
            // Only legitimate when nothing trains within T tokens.
            expect(String(e)).toMatch(/no complete batch/);
            expect(data.every((ex) => ex.labels.slice(1, T).every((l) => l === IGNORE_INDEX))).toBe(true);
            return;
          }
          for (const batch of it.epochBatches(1)) checkBatch(batch, byRow, T);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('is deterministic for a seed, reshuffles each epoch, and differs across seeds', () => {
    const data = dataset(40, 3);
    const a = new BatchIterator(data, { B: 2, T: 24, seed: 42 });
    const b = new BatchIterator(data, { B: 2, T: 24, seed: 42 });
    const c = new BatchIterator(data, { B: 2, T: 24, seed: 43 });
    const run = (it: BatchIterator, n: number) => Array.from({ length: n }, () => Array.from(it.next().inputIds));
    const n = a.batchesPerEpoch * 2;
    const ra = run(a, n);
    expect(run(b, n)).toEqual(ra);
    expect(run(c, n)).not.toEqual(ra);
    const epoch0 = ra.slice(0, a.batchesPerEpoch);
    const epoch1 = ra.slice(a.batchesPerEpoch);
    expect(epoch1).not.toEqual(epoch0);
    expect(a.position).toEqual({ epoch: 2, index: 0 });
  });

  it('resumes exactly from a saved position', () => {
    const data = dataset(33, 9);
    const full = new BatchIterator(data, { B: 2, T: 20, seed: 5 });
    const all = Array.from({ length: full.batchesPerEpoch * 3 }, () => full.next());
    const k = full.batchesPerEpoch + 2; // in the second epoch
    const first = new BatchIterator(data, { B: 2, T: 20, seed: 5 });
    for (let i = 0; i < k; i++) first.next();
    const saved = JSON.parse(JSON.stringify(first.position));
    expect(saved).toEqual({ epoch: 1, index: 2 });
    const resumed = new BatchIterator(data, { B: 2, T: 20, seed: 5 }, saved);
    for (let i = k; i < all.length; i++) {
      const got = resumed.next();
      expect(Array.from(got.inputIds)).toEqual(Array.from(all[i].inputIds));
      expect(Array.from(got.targets)).toEqual(Array.from(all[i].targets));
      expect([got.epoch, got.index]).toEqual([all[i].epoch, all[i].index]);
    }
    expect(() => resumed.seek({ epoch: 0, index: 999 })).toThrow(RangeError);
  });

  it('a last partial batch is padded (or dropped with dropLast); fully truncated examples are skipped', () => {
    const data = [example(0, 5, 1), example(1, 5, 1), example(2, 5, 1), example(3, 10, 8)];
    const it = new BatchIterator(data, { B: 2, T: 6, seed: 1, packing: false });
    // Row 3 trains only tokens 8..9, beyond T=6: it cannot train and is skipped.
    expect(it.skippedRows).toEqual([3]);
    expect(it.batchesPerEpoch).toBe(2);
    const last = it.batchAt(0, 1);
    expect(last.rows).toHaveLength(1);
    expect(Array.from(last.segmentIds.subarray(6))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(new BatchIterator(data, { B: 2, T: 6, seed: 1, packing: false, dropLast: true }).batchesPerEpoch).toBe(1);
    const dropped = new BatchIterator([example(0, 5, 1), example(1, 9, 1)], { B: 1, T: 6, seed: 1, overLength: 'drop' });
    expect(dropped.skippedRows).toEqual([1]);
    // T=2 with single-token examples: nothing to predict.
    expect(() => new BatchIterator([example(0, 1, 0)], { B: 1, T: 2, seed: 1 })).toThrow(/no complete batch/);
  });

  it('preference pairs: rows 2i, 2i+1 stay one pair (chosen then rejected) through shuffles; a pair that cannot train is skipped whole', () => {
    // Pair k = examples (2k, 2k+1) with the same file row k; the rejected side of pair 2 trains nothing within T.
    const data = [0, 1, 2, 3, 4, 5].flatMap((k) => [example(k, 5, 1), example(k, k === 2 ? 10 : 4, k === 2 ? 8 : 1)]);
    const it = new BatchIterator(data, { B: 4, T: 6, seed: 3, packing: false, pairs: true });
    expect(it.skippedRows).toEqual([2]);
    const seen: number[][] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      const rows = [...it.epochBatches(epoch)].flatMap((b) => {
        expect(b.rows.length % 2).toBe(0);
        // chosen is the 5-token example: its row's segment is 5 long; rejected 4.
        for (let r = 0; 2 * r < b.rows.length; r++) {
          expect(b.rows[2 * r + 1]).toBe(b.rows[2 * r]);
          expect(b.segmentIds.subarray(2 * r * 6, (2 * r + 1) * 6).filter((x) => x > 0).length).toBe(5);
          expect(b.segmentIds.subarray((2 * r + 1) * 6, (2 * r + 2) * 6).filter((x) => x > 0).length).toBe(4);
        }
        return b.rows.filter((_, k) => k % 2 === 0);
      });
      expect([...rows].sort()).toEqual([0, 1, 3, 4, 5]);
      seen.push(rows);
    }
    expect(seen[0]).not.toEqual(seen[1]); // reshuffled per epoch, as pairs
    expect(() => new BatchIterator(data, { B: 3, T: 6, seed: 3, packing: false, pairs: true })).toThrow(/even B/);
    expect(() => new BatchIterator(data, { B: 4, T: 6, seed: 3, pairs: true })).toThrow(/packing off/);
  });

  it('an unshuffled iterator keeps file order (for evaluation)', () => {
    const data = dataset(6, 2, 8);
    const it = new BatchIterator(data, { B: 1, T: 8, seed: 0, shuffle: false, packing: false });
    expect([...it.epochBatches()].map((b) => b.rows[0])).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('split and shuffle', () => {
  it('seeded split: deterministic, disjoint, at least one validation example', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const a = splitTrainVal(items, { valFraction: 0.1, seed: 1 });
    expect(a).toEqual(splitTrainVal(items, { valFraction: 0.1, seed: 1 }));
    expect(a.val).toHaveLength(5);
    expect([...a.train, ...a.val].sort((x, y) => x - y)).toEqual(items);
    expect(splitTrainVal(items, { valFraction: 0.1, seed: 2 }).val).not.toEqual(a.val);
    expect(splitTrainVal(items.slice(0, 3), { valFraction: 0.01, seed: 1 }).val).toHaveLength(1);
    expect(splitTrainVal(items.slice(0, 2), { valFraction: 0.9, seed: 1 }).train).toHaveLength(1);
    expect(splitTrainVal(items.slice(0, 1), { valFraction: 0.5, seed: 1 }).val).toHaveLength(0);
    expect(splitTrainVal(items, { valFraction: 0, seed: 1 }).val).toHaveLength(0);
    expect(() => splitTrainVal(items, { valFraction: 1, seed: 1 })).toThrow(RangeError);
  });

  it('shuffledIndices is a permutation', () => {
    const p = Array.from(shuffledIndices(100, 3));
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
