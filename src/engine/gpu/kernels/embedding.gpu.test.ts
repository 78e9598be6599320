import { describe, expect, it } from 'vitest';
import { embeddingForward, planRowRanges } from './embedding';
import * as ref from '../../reference/embedding';
import { randArray, randInt, rng } from '../../../../test/numeric';
import { f16BitsToNumber, float32ToF16Bits } from '../../model/dtype';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

describe('planRowRanges', () => {
  it('covers every row once with aligned, bounded ranges', () => {
    for (const [rows, rowBytes, max] of [[1000, 52, 4096], [151936, 3584, 128 << 20], [7, 6, 256], [3, 4, 1 << 20]]) {
      const ranges = planRowRanges(rows, rowBytes, 512, max, 256);
      let next = 0;
      for (const r of ranges) {
        expect(r.rowStart).toBe(next);
        expect(r.offset % 256).toBe(0);
        expect(r.size).toBeLessThanOrEqual(max);
        next += r.rowCount;
      }
      expect(next).toBe(rows);
    }
  });
});

describe('embedding_forward', () => {
  for (const fallback of [false, true]) {
    for (const dtype of fallback ? (['f32'] as const) : (['f32', 'f16'] as const)) {
      it.each([
        [1, 1, 5, undefined, undefined],
        [7, 13, 50, undefined, undefined],
        [300, 33, 1000, undefined, undefined],
        [64, 13, 1000, 4096, undefined], // forces ~17 ranges: C·4 = 52 bytes, aligned to 64-row steps
        [5, 576, 300, 20000, undefined], // ranges of 8 rows (f32) / 16 rows (f16)
        [9, 40, 300, 20000, Math.fround(Math.sqrt(40))], // Gemma's √C scale, with ranges
      ])(`matches the reference, BT=%i C=%i V=%i maxBinding=%s scale=%s (${dtype}, fallback=${fallback})`, async (BT, C, V, maxBindingBytes, scale) => {
        const ctx = await getTestContext({ fallback });
        const r = rng(BT + C + V);
        const table = Float64Array.from(randArray(r, V * C, -4, 4), Math.fround);
        // f16 rounding happens at upload; the reference uses the rounded table.
        const stored = dtype === 'f16' ? float32ToF16Bits(table) : Float32Array.from(table);
        const tableRef = dtype === 'f16' ? Float64Array.from(stored, f16BitsToNumber) : Float64Array.from(stored);
        const ids = new Uint32Array(BT).map(() => randInt(r, 0, V - 1));
        ids[0] = V - 1;
        if (BT > 2) ids[1] = V + 5; // out of range: zeros
        const want = new Float64Array(BT * C);
        ref.embeddingForward(want, ids, tableRef, BT, C, V, scale);
        const got = await expectNoGpuError(ctx, async () => {
          const W = ctx.upload(stored);
          const I = ctx.upload(ids);
          const O = ctx.upload(new Float32Array(BT * C).fill(NaN));
          const rec = ctx.recorder();
          embeddingForward(ctx, rec, O, I, W, BT, C, V, { dtype, maxBindingBytes, scale });
          rec.submit();
          const res = await ctx.readF32(O, BT * C);
          for (const b of [W, I, O]) ctx.destroy(b);
          return res;
        });
        // A copy, or one f32 product per element (correctly rounded): exact.
        expect(Array.from(got)).toEqual(Array.from(want, Math.fround));
      });
    }
  }
});
