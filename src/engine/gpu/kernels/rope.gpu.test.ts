import { describe, expect, it } from 'vitest';
import { createRopeInvFreqBuffer, ropeBackward, ropeForward, ropeInvFreq, ropeQk } from './rope';
import * as ref from '../../reference/rope';
import { expectClose, randArray, randInt, rng } from '../../../../test/numeric';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

const llama3 = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };

describe('rope', () => {
  for (const fallback of [false, true]) {
    it.each([
      [1, 1, 2, 10000, false],
      [7, 3, 64, 100000, false],
      [300, 2, 16, 10000, false],
      [33, 5, 18, 500000, true],
      [130, 9, 64, 100000, true],
    ] as const)(`forward/backward match float64, BT=%i NH=%i D=%i theta=%i llama3=%s (fallback=${fallback})`, async (BT, NH, D, theta, scaled) => {
      const ctx = await getTestContext({ fallback });
      const r = rng(BT * 7 + NH * 3 + D);
      const N = BT * NH * D;
      const x = Float64Array.from(randArray(r, N, -3, 3), Math.fround);
      const dout = Float64Array.from(randArray(r, N, -3, 3), Math.fround);
      // Packed sequences: positions restart; the largest reach 8000 to stress angle reduction.
      const pos = new Uint32Array(BT);
      for (let bt = 0, p = 0; bt < BT; bt++) {
        p = r() < 0.1 ? 0 : p + 1;
        pos[bt] = r() < 0.2 ? randInt(r, 0, 8000) : p;
      }
      const scaling = scaled ? llama3 : null;
      const invFreq = ropeInvFreq(D, theta, scaling);
      const outRef = new Float64Array(N);
      ref.ropeForward(outRef, x, invFreq, pos, BT, NH, D);
      const dinpRef = new Float64Array(N);
      ref.ropeBackward(dinpRef, dout, invFreq, pos, BT, NH, D);
      const got = await expectNoGpuError(ctx, async () => {
        const F = createRopeInvFreqBuffer(ctx, D, theta, scaling);
        const P = ctx.upload(pos);
        const X = ctx.upload(Float32Array.from(x));
        const Xin = ctx.upload(Float32Array.from(x));
        const DO = ctx.upload(Float32Array.from(dout));
        const O = ctx.createBuffer(N * 4);
        const DI = ctx.createBuffer(N * 4);
        const rec = ctx.recorder();
        ropeForward(ctx, rec, Xin, Xin, F, P, BT, NH, D); // in place
        ropeForward(ctx, rec, O, X, F, P, BT, NH, D); // out of place
        ropeBackward(ctx, rec, DI, DO, F, P, BT, NH, D); // out of place
        ropeBackward(ctx, rec, DO, DO, F, P, BT, NH, D); // in place
        rec.submit();
        const res = await Promise.all([Xin, O, X, DI, DO].map((b) => ctx.readF32(b, N)));
        for (const b of [F, P, X, Xin, DO, O, DI]) ctx.destroy(b);
        return res;
      });
      // Same f32 angle as the reference; after range reduction the remaining error is the
      // reduction (~1e-7 rad) plus sin/cos (a few ulp): |err| ≲ 1e-6 · |x| with |x| ≤ 3.
      expectClose(got[0], outRef, 5e-6, 1e-5, 'rope forward (in place)');
      expectClose(got[1], outRef, 5e-6, 1e-5, 'rope forward (out of place)');
      expectClose(got[2], x, 0, 0, 'rope forward leaves inp unchanged');
      expectClose(got[3], dinpRef, 5e-6, 1e-5, 'rope backward (out of place)');
      expectClose(got[4], dinpRef, 5e-6, 1e-5, 'rope backward (in place)');
    });

    it.each([
      [1, 1, 1, 2, false],
      [7, 9, 3, 64, false],
      [130, 4, 2, 18, true],
      [300, 6, 6, 16, true],
    ] as const)(`q and k in one dispatch are bit-identical to one dispatch each, BT=%i H=%i KVH=%i D=%i transpose=%s (fallback=${fallback})`, async (BT, H, KVH, D, transpose) => {
      const ctx = await getTestContext({ fallback });
      const r = rng(BT * 5 + H * 3 + KVH + D);
      const q = Float32Array.from(randArray(r, BT * H * D, -3, 3));
      const k = Float32Array.from(randArray(r, BT * KVH * D, -3, 3));
      const pos = Uint32Array.from({ length: BT }, () => randInt(r, 0, 8000));
      const [fused, apart] = await expectNoGpuError(ctx, async () => {
        const F = createRopeInvFreqBuffer(ctx, D, 100000, llama3);
        const P = ctx.upload(pos);
        const run = async (fuse: boolean) => {
          const Q = ctx.upload(q);
          const K = ctx.upload(k);
          const rec = ctx.recorder();
          if (fuse) ropeQk(ctx, rec, Q, K, F, P, BT, H, KVH, D, transpose);
          else {
            const one = transpose ? ropeBackward : ropeForward;
            one(ctx, rec, Q, Q, F, P, BT, H, D);
            one(ctx, rec, K, K, F, P, BT, KVH, D);
          }
          rec.submit();
          const res = [await ctx.readF32(Q, BT * H * D), await ctx.readF32(K, BT * KVH * D)];
          ctx.destroy(Q);
          ctx.destroy(K);
          return res;
        };
        const res = [await run(true), await run(false)];
        ctx.destroy(F);
        ctx.destroy(P);
        return res;
      });
      expect(fused[0]).toEqual(apart[0]);
      expect(fused[1]).toEqual(apart[1]);
      expect(fused[0]).not.toEqual(q); // rotated at all
    });
  }
});
