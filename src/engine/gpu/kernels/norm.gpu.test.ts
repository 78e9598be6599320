import { describe, expect, it } from 'vitest';
import { globalGradNorm, gradNormPartialCount, readGradStats, reduceSum } from './norm';
import * as ref from '../../reference/norm';
import { expectClose, randArray, rng } from '../../../../test/numeric';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

describe('reduce_sum', () => {
  for (const fallback of [false, true]) {
    it.each([1, 255, 4097])(`sums N=%i values (fallback=${fallback})`, async (N) => {
      const ctx = await getTestContext({ fallback });
      const r = rng(N);
      const x = Float64Array.from(randArray(r, N, 0, 12), Math.fround);
      const want = Float64Array.from([5, 7, 9]);
      ref.reduceSum(want, x, N, 1, 0.25);
      ref.reduceSum(want, x, N, 2, 0.5, true);
      const got = await expectNoGpuError(ctx, async () => {
        const X = ctx.upload(Float32Array.from(x));
        const O = ctx.upload(new Float32Array([5, 7, 9]));
        const rec = ctx.recorder();
        reduceSum(ctx, rec, O, X, N, { outIndex: 1, scale: 0.25 });
        reduceSum(ctx, rec, O, X, N, { outIndex: 2, scale: 0.5, accumulate: true });
        rec.submit();
        const res = await ctx.readF32(O, 3);
        ctx.destroy(X);
        ctx.destroy(O);
        return res;
      });
      // f32 sum of N ≤ 4097 positive terms of ≤ 12: relative error ≲ 1e-6 in a tree order.
      expectClose(got, want, 0, 2e-6, 'sum');
    });
  }
});

describe('global gradient norm', () => {
  const sizes = [0, 1, 1000, 5003, 600_000]; // 600k elements hit the 512-workgroup cap
  const cases = [
    { name: 'clipped', maxNorm: 10, poison: null, loss: 2.5 },
    { name: 'not clipped', maxNorm: 1e6, poison: null, loss: null },
    { name: 'no clipping configured', maxNorm: 0, poison: null, loss: 1 },
    { name: 'NaN gradient', maxNorm: 1, poison: NaN, loss: 1 },
    { name: '+Inf gradient', maxNorm: 1, poison: Infinity, loss: null },
    { name: 'NaN loss', maxNorm: 1, poison: null, loss: NaN },
    { name: '-Inf loss', maxNorm: 1, poison: null, loss: -Infinity },
  ];
  for (const fallback of [false, true]) {
    it.each(cases)(`$name (fallback=${fallback})`, async ({ maxNorm, poison, loss }) => {
      const ctx = await getTestContext({ fallback });
      const r = rng(42);
      const grads = sizes.map((n) => Float64Array.from(randArray(r, n, -0.05, 0.05), Math.fround));
      if (poison !== null) grads[3][4321] = poison;
      const want = new Float64Array(4);
      ref.globalGradNorm(want, grads, maxNorm, loss);
      const got = await expectNoGpuError(ctx, async () => {
        const G = grads.map((g) => ctx.upload(Float32Array.from(g)));
        const P = ctx.createBuffer(gradNormPartialCount(sizes) * 4);
        const S = ctx.upload(new Float32Array(4).fill(-7));
        const L = ctx.upload(new Float32Array([0, 0, loss ?? 0]));
        const rec = ctx.recorder();
        globalGradNorm(ctx, rec, S, P, sizes.map((n, k) => ({ binding: G[k], n })), maxNorm, loss === null ? null : { binding: L, index: 2 });
        rec.submit();
        const res = await readGradStats(ctx, S);
        for (const b of [...G, P, S, L]) ctx.destroy(b);
        return res;
      });
      expect(got.nonFinite).toBe(want[1] === 1);
      // ~600k squares summed in f32 by strided partial sums: relative error ≲ 1e-5.
      expectClose([got.clip], [want[0]], 0, 1e-5, 'clip');
      if (!got.nonFinite) expectClose([got.norm, got.sumSq], [want[2], want[3]], 0, 1e-5, 'norm, sumSq');
    });
  }
});
