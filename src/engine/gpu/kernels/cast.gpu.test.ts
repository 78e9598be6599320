import { describe, expect, it } from 'vitest';
import { castF32ToF16, castToF32 } from './cast';
import { bf16BitsToNumber, f16BitsToNumber, float32ToBf16Bits, float32ToF16Bits } from '../../model/dtype';
import { expectClose, randArray, rng } from '../../../../test/numeric';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

/** 16-bit values padded to whole u32 words, as an upload of raw tensor bytes would be. */
const padded = (h: Uint16Array): Uint16Array => {
  const out = new Uint16Array(Math.ceil(h.length / 2) * 2);
  out.set(h);
  return out;
};

describe('casts', () => {
  for (const fallback of [false, true]) {
    it.each([1, 2, 7, 1000, 70_001])(`bf16/f16 → f32 exact, f32 → f16 within one rounding, N=%i (fallback=${fallback})`, async (N) => {
      const ctx = await getTestContext({ fallback });
      const r = rng(N);
      const x = Float64Array.from(randArray(r, N, -300, 300), Math.fround);
      x[0] = 1e-6; // an f16 subnormal
      const bf = float32ToBf16Bits(x);
      const hf = float32ToF16Bits(x);
      const got = await expectNoGpuError(ctx, async () => {
        const B = ctx.upload(padded(bf));
        const H = ctx.upload(padded(hf));
        const X = ctx.upload(Float32Array.from(x));
        const OB = ctx.createBuffer(N * 4);
        const OH = ctx.createBuffer(N * 4);
        const O16 = ctx.upload(new Uint32Array(Math.ceil(N / 2)).fill(0xdeadbeef));
        const rec = ctx.recorder();
        castToF32(ctx, rec, OB, B, N, 'bf16');
        castToF32(ctx, rec, OH, H, N, 'f16');
        castF32ToF16(ctx, rec, O16, X, N);
        rec.submit();
        const res = { fromBf16: await ctx.readF32(OB, N), fromF16: await ctx.readF32(OH, N), toF16: new Uint16Array(await ctx.read(O16, Math.ceil(N / 2) * 4)) };
        for (const b of [B, H, X, OB, OH, O16]) ctx.destroy(b);
        return res;
      });
      expectClose(got.fromBf16, Array.from(bf, bf16BitsToNumber), 0, 0, 'bf16 → f32');
      expectClose(got.fromF16, Array.from(hf, f16BitsToNumber), 0, 0, 'f16 → f32');
      // WGSL may round to either neighbouring half: within one f16 ulp (2^-10 relative, 2^-24 absolute near 0).
      expectClose(Array.from(got.toF16.subarray(0, N), f16BitsToNumber), x, 2 ** -24, 2 ** -10, 'f32 → f16');
      if (N % 2 === 1) expect(got.toF16[N]).toBe(0);
    });
  }
});
