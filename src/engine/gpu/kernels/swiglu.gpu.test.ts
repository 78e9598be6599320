import { describe, expect, it } from 'vitest';
import { swigluBackward, swigluBackwardInPlace, swigluForward } from './swiglu';
import * as ref from '../../reference/swiglu';
import { type GatedActivation } from '../../reference/swiglu';
import { expectClose, randArray, rng } from '../../../../test/numeric';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

describe('swiglu', () => {
  for (const [fallback, activation] of [[false, 'silu'], [true, 'silu'], [false, 'gelu_tanh'], [true, 'gelu_tanh']] as [boolean, GatedActivation][]) {
    it.each([
      [1, 1],
      [1, 1536],
      [7, 33],
      [300, 257],
    ])(`forward and backward match float64, BT=%i F=%i (${activation}, fallback=${fallback})`, async (BT, F) => {
      const ctx = await getTestContext({ fallback });
      const N = BT * F;
      const r = rng(N + 3);
      const f = (a: Float64Array) => Float64Array.from(a, Math.fround);
      const gate = f(randArray(r, N, -12, 12));
      gate[0] = -100; // exp(-z) overflows: act must still be ~0, not NaN
      if (N > 1) gate[1] = 100; // exp(-z) underflows: act(g) = g
      const up = f(randArray(r, N, -2, 2));
      const dout = f(randArray(r, N));
      const dg0 = f(randArray(r, N));
      const du0 = f(randArray(r, N));
      const outRef = new Float64Array(N);
      ref.swigluForward(outRef, gate, up, N, activation);
      const dgRef = Float64Array.from(dg0);
      const duRef = Float64Array.from(du0);
      ref.swigluBackward(dgRef, duRef, dout, gate, up, N, activation);
      const dgFresh = new Float64Array(N);
      const duFresh = new Float64Array(N);
      ref.swigluBackward(dgFresh, duFresh, dout, gate, up, N, activation);

      const got = await expectNoGpuError(ctx, async () => {
        const G = ctx.upload(Float32Array.from(gate));
        const U = ctx.upload(Float32Array.from(up));
        const DO = ctx.upload(Float32Array.from(dout));
        const DG = ctx.upload(Float32Array.from(dg0));
        const DU = ctx.upload(Float32Array.from(du0));
        // Overwrite mode starts from NaN garbage to prove the old contents are ignored.
        const DG2 = ctx.upload(new Float32Array(N).fill(NaN));
        const DU2 = ctx.upload(new Float32Array(N).fill(NaN));
        const O = ctx.createBuffer(N * 4);
        const rec = ctx.recorder();
        swigluForward(ctx, rec, O, G, U, N, { activation });
        swigluBackward(ctx, rec, DG, DU, DO, G, U, N, { activation });
        swigluBackward(ctx, rec, DG2, DU2, DO, G, U, N, { accumulate: false, activation });
        // In place: copies of gate and up become dgate and dup.
        const G3 = ctx.upload(Float32Array.from(gate));
        const U3 = ctx.upload(Float32Array.from(up));
        swigluBackwardInPlace(ctx, rec, G3, U3, DO, N, { activation });
        rec.submit();
        const res = await Promise.all([O, DG, DU, DG2, DU2, G3, U3].map((b) => ctx.readF32(b, N)));
        for (const b of [G, U, DO, DG, DU, DG2, DU2, O, G3, U3]) ctx.destroy(b);
        return res;
      });
      // A handful of f32 operations per element plus exp (a few ulp): relative error ~1e-6 (GeGLU's
      // cubic adds a few ulp in z; exp(-z) turns z's relative error into at most |z|·ulp, |z| <= ~20 where s is not 0 or 1).
      expectClose(got[0], outRef, 1e-6, 1e-5, 'out');
      expectClose(got[1], dgRef, 1e-6, 1e-5, 'dgate (accumulate)');
      expectClose(got[2], duRef, 1e-6, 1e-5, 'dup (accumulate)');
      expectClose(got[3], dgFresh, 1e-6, 1e-5, 'dgate (overwrite)');
      expectClose(got[4], duFresh, 1e-6, 1e-5, 'dup (overwrite)');
      // The in-place variant is the overwrite mode's formula: equal values, not just close (=== : a
      // zero's sign is the compiler's choice for 0 + x).
      const unequal = (a: Float32Array, b: Float32Array) => a.findIndex((x, i) => x !== b[i]);
      expect(unequal(got[5], got[3]), 'first dgate (in place) ≠ dgate (overwrite)').toBe(-1);
      expect(unequal(got[6], got[4]), 'first dup (in place) ≠ dup (overwrite)').toBe(-1);
    });
  }
});
