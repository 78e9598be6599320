import { describe, expect, it } from 'vitest';
import { aggregateProfile, stepGaps, type KernelSample } from './profile';
import { matmulCost } from './kernels/matmul';
import { attentionForwardFlops } from './kernels/attention';

const s = (kernel: string, startNs: number, endNs: number, flops = 0, bytes = 0): KernelSample => ({ kernel, startNs, endNs, flops, bytes });

describe('aggregateProfile (synthetic timestamps)', () => {
  it('sums calls, time, FLOPs and bytes per kernel; share is of the GPU span; longest first', () => {
    const p = aggregateProfile([
      s('matmul_forward', 1000, 3000, 4e6, 2e6), // 2 µs
      s('rmsnorm_forward', 3500, 4000, 0, 1e6), // 0.5 µs, no FLOP count
      s('matmul_forward', 4000, 5000, 2e6, 1e6), // 1 µs
      s('adamw', 6000, 11000, 5e4, 5e5), // 5 µs
    ]);
    expect(p.spanMs).toBeCloseTo(0.01, 12); // 1000 → 11000 ns
    expect(p.kernelMs).toBeCloseTo(0.0085, 12);
    expect(p.dropped).toBe(0);
    expect(p.rows.map((r) => r.kernel)).toEqual(['adamw', 'matmul_forward', 'rmsnorm_forward']);
    const mm = p.rows[1];
    expect(mm.calls).toBe(2);
    expect(mm.totalMs).toBeCloseTo(0.003, 12);
    expect(mm.share).toBeCloseTo(0.3, 12);
    expect(mm.gflops).toBeCloseTo(6e6 / 3000, 9); // FLOP per ns = GFLOP/s
    expect(mm.gbps).toBeCloseTo(3e6 / 3000, 9);
    expect(p.rows[2].gflops).toBeNull();
    expect(p.rows[2].gbps).toBeCloseTo(2000, 9);
  });

  it('leaves out samples without a usable pair of stamps and counts them', () => {
    const p = aggregateProfile([s('a', 0, 100, 100, 100), s('a', 500, 400), s('b', NaN, 50), s('b', 200, 300, 10, 10)]);
    expect(p.dropped).toBe(2);
    expect(p.rows.map((r) => [r.kernel, r.calls])).toEqual([['a', 1], ['b', 1]]);
    expect(p.spanMs).toBeCloseTo(0.0003, 12);
  });

  it('a kernel of zero measured time has no rate (not Infinity); no samples give an empty profile', () => {
    const p = aggregateProfile([s('quantized', 10, 10, 100, 100), s('other', 10, 20, 100, 100)]);
    expect(p.rows.find((r) => r.kernel === 'quantized')).toMatchObject({ totalMs: 0, gflops: null, gbps: null });
    expect(aggregateProfile([])).toEqual({ rows: [], kernelMs: 0, spanMs: 0, dropped: 0 });
  });
});

describe('cost model', () => {
  it('matmul: 2·M·N·K FLOPs; x, w, y moved once, y twice when accumulating, plus the bias', () => {
    expect(matmulCost(4, 3, 5, 4, false)).toEqual({ flops: 120, bytes: 4 * 20 + 4 * 15 + 4 * 12 });
    expect(matmulCost(4, 3, 5, 2, true, 3)).toEqual({ flops: 120, bytes: 4 * 20 + 2 * 15 + 8 * 12 + 12 });
  });

  it('attention forward: QKᵀ and P·V over the causal pairs, checked by counting them', () => {
    const [B, T, H, D] = [2, 7, 3, 8];
    let pairs = 0;
    for (let t = 0; t < T; t++) for (let u = 0; u <= t; u++) pairs++;
    expect(attentionForwardFlops(B, T, H, D)).toBe(B * H * pairs * 2 * (2 * D));
  });
});

describe('stepGaps (synthetic timestamps)', () => {
  it('first begin of each step minus the last end of the one before, in ms, whatever the order inside a step', () => {
    const samples = [
      s('a', 0, 1000), s('b', 1000, 4000), s('c', 2000, 3000), // step 0 ends at 4000 (not its last sample's end)
      s('a', 4500, 5000), s('b', 5000, 9000), // step 1: 0.5 µs after
      s('a', 9000, 9100), // step 2: back to back
      s('a', 12000, 13000), // step 3: 2.9 µs after
    ];
    expect(stepGaps(samples, [3, 5, 6, 7]).map((g) => +(g * 1e6).toFixed(6))).toEqual([500, 0, 2900]);
  });

  it('ignores samples without usable stamps; a step without any gives no gap on either side', () => {
    const samples = [s('a', 0, 1000), s('x', NaN, 5000), s('a', NaN, NaN), s('a', 3000, 4000), s('a', 6000, 7000)];
    expect(stepGaps(samples, [2, 3, 4, 5]).map((g) => g * 1e6)).toEqual([2000]);
    expect(stepGaps(samples, [5])).toEqual([]);
  });
});
