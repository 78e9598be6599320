import { describe, expect, it } from 'vitest';
import { residualForward } from './residual';
import { rmsnormBackward, rmsnormForward } from './rmsnorm';
import * as ref from '../../reference/rmsnorm';
import { expectClose, randArray, rng } from '../../../../test/numeric';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

const shapes: [number, number][] = [
  [1, 1],
  [1, 576],
  [7, 13],
  [5, 256],
  [300, 33],
  [17, 1000],
];

describe('rmsnorm', () => {
  for (const fallback of [false, true]) {
    // Offset 1 (Gemma's 1 + w) on a few shapes, with weights around 0 as Gemma's are.
    const cases = [...shapes.map(([BT, C]) => [BT, C, 0] as const), [7, 13, 1] as const, [17, 1000, 1] as const];
    it.each(cases)(`forward and backward match float64, BT=%i C=%i offset=%i (fallback=${fallback})`, async (BT, C, offset) => {
      const ctx = await getTestContext({ fallback });
      const r = rng(BT * 1000 + C);
      const eps = 1e-5;
      const x = Float64Array.from(randArray(r, BT * C, -2, 2), Math.fround);
      const w = Float64Array.from(randArray(r, C, 0.5 - offset, 1.5 - offset), Math.fround);
      const dout = Float64Array.from(randArray(r, BT * C), Math.fround);
      const dinp0 = Float64Array.from(randArray(r, BT * C), Math.fround);
      const outRef = new Float64Array(BT * C);
      const rstdRef = new Float64Array(BT);
      ref.rmsnormForward(outRef, rstdRef, x, w, BT, C, eps, offset);
      const dinpRef = Float64Array.from(dinp0);
      ref.rmsnormBackward(dinpRef, dout, x, w, rstdRef, BT, C, offset);

      const [out, rstd, dinp] = await expectNoGpuError(ctx, async () => {
        const X = ctx.upload(Float32Array.from(x));
        const W = ctx.upload(Float32Array.from(w));
        const DO = ctx.upload(Float32Array.from(dout));
        const DI = ctx.upload(Float32Array.from(dinp0));
        const O = ctx.createBuffer(BT * C * 4);
        const R = ctx.createBuffer(BT * 4);
        const rec = ctx.recorder();
        rmsnormForward(ctx, rec, O, R, X, W, BT, C, eps, { offset });
        rmsnormBackward(ctx, rec, DI, DO, X, W, R, BT, C, { offset });
        rec.submit();
        const res = [await ctx.readF32(O, BT * C), await ctx.readF32(R, BT), await ctx.readF32(DI, BT * C)];
        for (const b of [X, W, DO, DI, O, R]) ctx.destroy(b);
        return res;
      });
      // f32 sum of C ≤ 1000 squares and a few products per element: relative error well under 1e-5
      // for |x| ≤ 2; atol covers outputs near zero.
      expectClose(rstd, rstdRef, 1e-6, 1e-5, 'rstd');
      expectClose(out, outRef, 1e-5, 1e-5, 'out');
      // Backward subtracts two O(1) terms; the dot over C adds ~C·1e-7 absolute error.
      expectClose(dinp, dinpRef, 2e-5, 1e-5, 'dinp');
    });

    it.each([[1, 1, 0], [7, 13, 0], [300, 33, 0], [17, 1000, 1], [65, 576, 0]] as const)(
      `residual + rmsnorm fused is bit-identical to residual_forward then rmsnorm_forward, BT=%i C=%i offset=%i (fallback=${fallback})`,
      async (BT, C, offset) => {
        const ctx = await getTestContext({ fallback });
        const r = rng(BT * 7 + C);
        const a = Float32Array.from(randArray(r, BT * C, -2, 2));
        const b = Float32Array.from(randArray(r, BT * C, -2, 2));
        const w = Float32Array.from(randArray(r, C, 0.5 - offset, 1.5 - offset));
        const [fused, unfused] = await expectNoGpuError(ctx, async () => {
          const A = ctx.upload(a);
          const Bf = ctx.upload(b);
          const W = ctx.upload(w);
          const run = async (fuse: boolean) => {
            const S = ctx.createBuffer(BT * C * 4);
            const O = ctx.createBuffer(BT * C * 4);
            const R = ctx.createBuffer(BT * 4);
            const rec = ctx.recorder();
            if (fuse) rmsnormForward(ctx, rec, O, R, A, W, BT, C, 1e-5, { offset, residual: { sum: S, add: Bf } });
            else {
              residualForward(ctx, rec, S, A, Bf, BT * C);
              rmsnormForward(ctx, rec, O, R, S, W, BT, C, 1e-5, { offset });
            }
            rec.submit();
            const res = { sum: await ctx.readF32(S, BT * C), out: await ctx.readF32(O, BT * C), rstd: await ctx.readF32(R, BT) };
            for (const x of [S, O, R]) ctx.destroy(x);
            return res;
          };
          const res = [await run(true), await run(false)];
          for (const x of [A, Bf, W]) ctx.destroy(x);
          return res;
        });
        expect(Array.from(fused.sum)).toEqual(Array.from(a, (x, i) => Math.fround(x + b[i])));
        expect(fused.out).toEqual(unfused.out);
        expect(fused.rstd).toEqual(unfused.rstd);
      },
    );
  }
});
