import { describe, it } from 'vitest';
import { adamwUpdate } from './adamw';
import { globalGradNorm, gradNormPartialCount } from './norm';
import * as ref from '../../reference/adamw';
import * as refNorm from '../../reference/norm';
import { expectClose, randArray, rng } from '../../../../test/numeric';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

describe('adamw', () => {
  for (const fallback of [false, true]) {
    it.each([
      [1, 0, 0],
      [1000, 0.01, 0],
      [5003, 0.1, 0.5],
    ])(`follows the float64 reference for 8 steps, N=%i wd=%f maxNorm=%f (fallback=${fallback})`, async (N, weightDecay, maxNorm) => {
      const ctx = await getTestContext({ fallback });
      const r = rng(N + 1);
      const f = (a: Float64Array) => Float64Array.from(a, Math.fround);
      const p0 = f(randArray(r, N));
      const steps = 8;
      const gradsPerStep = Array.from({ length: steps }, () => f(randArray(r, N, -0.1, 0.1)));
      const hp = (t: number) => ({ lr: 1e-3 * (1 - t / 20), beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, t });

      // Reference: clip factor from the global norm when maxNorm > 0, else no scale.
      const [P, M, V] = [Float64Array.from(p0), new Float64Array(N), new Float64Array(N)];
      for (let t = 1; t <= steps; t++) {
        const stats = new Float64Array(4);
        refNorm.globalGradNorm(stats, [gradsPerStep[t - 1]], maxNorm);
        ref.adamwUpdate(P, M, V, gradsPerStep[t - 1], maxNorm > 0 ? stats : null, N, hp(t));
      }

      const got = await expectNoGpuError(ctx, async () => {
        const Pb = ctx.upload(Float32Array.from(p0));
        const Mb = ctx.upload(new Float32Array(N));
        const Vb = ctx.upload(new Float32Array(N));
        const Gb = ctx.createBuffer(N * 4);
        const Sb = ctx.createBuffer(16);
        const partials = ctx.createBuffer(gradNormPartialCount([N]) * 4);
        for (let t = 1; t <= steps; t++) {
          ctx.write(Gb, Float32Array.from(gradsPerStep[t - 1]));
          const rec = ctx.recorder();
          if (maxNorm > 0) globalGradNorm(ctx, rec, Sb, partials, [{ binding: Gb, n: N }], maxNorm);
          adamwUpdate(ctx, rec, Pb, Mb, Vb, Gb, maxNorm > 0 ? Sb : null, N, hp(t));
          rec.submit();
        }
        const res = await Promise.all([Pb, Mb, Vb].map((b) => ctx.readF32(b, N)));
        for (const b of [Pb, Mb, Vb, Gb, Sb, partials]) ctx.destroy(b);
        return res;
      });
      // Each step moves a parameter by ≤ lr = 1e-3 with an f32 relative error ~1e-6 on top of
      // f32 rounding of the parameter itself (|p| ≤ 1: 6e-8): after 8 steps |err| ≲ 1e-6.
      expectClose(got[0], P, 1e-6, 1e-6, 'param');
      // m, v are O(grad) and O(grad²): relative error of a few f32 roundings per step.
      expectClose(got[1], M, 1e-9, 1e-5, 'm');
      expectClose(got[2], V, 1e-12, 1e-5, 'v');
    });

    it(`skips the whole update when the stats flag a non-finite gradient (fallback=${fallback})`, async () => {
      const ctx = await getTestContext({ fallback });
      const N = 300;
      const r = rng(7);
      const p0 = Float32Array.from(randArray(r, N));
      const m0 = Float32Array.from(randArray(r, N, -0.01, 0.01));
      const v0 = Float32Array.from(randArray(r, N, 0, 1e-4));
      const g = Float32Array.from(randArray(r, N));
      g[17] = NaN;
      const got = await expectNoGpuError(ctx, async () => {
        const [Pb, Mb, Vb, Gb] = [p0, m0, v0, g].map((a) => ctx.upload(a));
        const Sb = ctx.createBuffer(16);
        const partials = ctx.createBuffer(gradNormPartialCount([N]) * 4);
        const rec = ctx.recorder();
        globalGradNorm(ctx, rec, Sb, partials, [{ binding: Gb, n: N }], 1);
        adamwUpdate(ctx, rec, Pb, Mb, Vb, Gb, Sb, N, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, t: 3 });
        rec.submit();
        const res = await Promise.all([Pb, Mb, Vb].map((b) => ctx.readF32(b, N)));
        for (const b of [Pb, Mb, Vb, Gb, Sb, partials]) ctx.destroy(b);
        return res;
      });
      expectClose(got[0], p0, 0, 0, 'param unchanged');
      expectClose(got[1], m0, 0, 0, 'm unchanged');
      expectClose(got[2], v0, 0, 0, 'v unchanged');
    });
  }
});
