import { describe, it } from 'vitest';
import { addInPlace, residualBackward } from './residual';
import * as ref from '../../reference/residual';
import { expectClose, randArray, rng } from '../../../../test/numeric';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

describe('residual_backward and addInPlace', () => {
  for (const fallback of [false, true]) {
    it.each([1, 257, 70_001])(`match float64, N=%i (fallback=${fallback})`, async (N) => {
      const ctx = await getTestContext({ fallback });
      const r = rng(N + 11);
      const f = (a: Float64Array) => Float64Array.from(a, Math.fround);
      const [d1, d2, dout, src] = [f(randArray(r, N)), f(randArray(r, N)), f(randArray(r, N)), f(randArray(r, N))];
      const want1 = Float64Array.from(d1);
      const want2 = Float64Array.from(d2);
      ref.residualBackward(want1, want2, dout, N);
      const want3 = Float64Array.from(want1);
      ref.addInPlace(want3, src, N, -0.75);
      const got = await expectNoGpuError(ctx, async () => {
        const [A, B, D, S] = [d1, d2, dout, src].map((a) => ctx.upload(Float32Array.from(a)));
        const rec = ctx.recorder();
        residualBackward(ctx, rec, A, B, D, N);
        rec.submit();
        const res = [await ctx.readF32(A, N), await ctx.readF32(B, N)];
        const rec2 = ctx.recorder();
        addInPlace(ctx, rec2, A, S, N, -0.75);
        rec2.submit();
        res.push(await ctx.readF32(A, N));
        for (const b of [A, B, D, S]) ctx.destroy(b);
        return res;
      });
      // One or two f32 roundings of O(1) values.
      expectClose(got[0], want1, 1e-6, 1e-6, 'dinp1');
      expectClose(got[1], want2, 1e-6, 1e-6, 'dinp2');
      expectClose(got[2], want3, 2e-6, 1e-6, 'addInPlace');
    });
  }
});
