import { describe, it } from 'vitest';
import { residualForward } from './residual';
import { residualForward as residualRef } from '../../reference/residual';
import { expectClose, randArray, rng } from '../../../../test/numeric';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

describe('residual_forward', () => {
  for (const fallback of [false, true]) {
    it.each([1, 7, 256, 1000, 70_001])(`matches float64 reference, N=%i (fallback=${fallback})`, async (N) => {
      const ctx = await getTestContext({ fallback });
      const r = rng(N);
      const a = randArray(r, N);
      const b = randArray(r, N);
      const want = new Float64Array(N);
      residualRef(want, a, b, N);
      const got = await expectNoGpuError(ctx, async () => {
        const A = ctx.upload(Float32Array.from(a));
        const Bf = ctx.upload(Float32Array.from(b));
        const O = ctx.createBuffer(N * 4);
        const rec = ctx.recorder();
        residualForward(ctx, rec, O, A, Bf, N);
        rec.submit();
        return ctx.readF32(O, N);
      });
      // f32 add of f32-rounded inputs: error is one rounding of each input plus the sum.
      expectClose(got, want, 1e-6, 1e-6, 'out');
    });
  }
});
