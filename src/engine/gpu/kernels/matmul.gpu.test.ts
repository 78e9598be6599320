import { describe, expect, it } from 'vitest';
import { type Weight, type WeightDType, matmulBackward, matmulForward } from './matmul';
import { matmulBackward as backwardRef, matmulForward as forwardRef } from '../../reference/matmul';
import { expectClose, randArray, randInt, rng } from '../../../../test/numeric';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';
import type { GpuContext } from '../context';

// f32 → IEEE half bits, round to nearest even (Node 20 has no Float16Array).
function f16Bits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
function f16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Uploads W in `dtype`; returns the buffer and the values the GPU actually sees (for the reference). */
function uploadWeight(ctx: GpuContext, w: Float64Array, dtype: WeightDType): { weight: Weight; seen: Float64Array } {
  if (dtype === 'f32') {
    const f = Float32Array.from(w);
    return { weight: { buffer: ctx.upload(f), dtype }, seen: Float64Array.from(f) };
  }
  const bits = Uint16Array.from(w, f16Bits);
  return { weight: { buffer: ctx.upload(bits), dtype }, seen: Float64Array.from(bits, f16Value) };
}

const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));

// Both paths accumulate in f32 over K ≤ 300 products of |a·b| ≤ 1 from f32/f16-exact inputs:
// the rounding error is about √K·2⁻²⁴·|partial sums| ≲ 1e-5; 1e-4 leaves a 10× margin and
// still catches any indexing error (those are O(0.1)).
const ATOL = 1e-4;
const RTOL = 1e-4;

// [BT, C, OC]: T=1, sizes below, at and above the 64×64 tile, not multiples of 4/16/64.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 37, 70],
  [7, 64, 64],
  [65, 129, 17],
  [300, 100, 33],
  [130, 257, 191],
  [3, 16, 300],
  // Seeded random shapes: BT in 1..300, C and OC in 1..260 (64×64 tiles, 8×8 blocks).
  ...Array.from({ length: 4 }, (_, i) => {
    const r = rng(4242 + i);
    return [randInt(r, 1, 300), randInt(r, 1, 260), randInt(r, 1, 260)] as [number, number, number];
  }),
];

for (const fallback of [false, true]) {
  const dtypes: WeightDType[] = fallback ? ['f32'] : ['f32', 'f16'];
  for (const dtype of dtypes) {
    describe(`matmul ${dtype} weight (fallback=${fallback})`, () => {
      it.each(SHAPES)('forward BT=%i C=%i OC=%i', async (BT, C, OC) => {
        const ctx = await getTestContext({ fallback });
        if (dtype === 'f16') expect(ctx.caps.f16, 'fast-path device must have shader-f16').toBe(true);
        const r = rng(BT * 7919 + C * 31 + OC);
        const inp = f32(randArray(r, BT * C));
        const bias = f32(randArray(r, OC));
        const prior = f32(randArray(r, BT * OC));
        const wRaw = randArray(r, OC * C);
        const got = await expectNoGpuError(ctx, async () => {
          const { weight, seen } = uploadWeight(ctx, wRaw, dtype);
          const inpB = ctx.upload(Float32Array.from(inp));
          const biasB = ctx.upload(Float32Array.from(bias));
          const o1 = ctx.createBuffer(BT * OC * 4);
          const o2 = ctx.upload(Float32Array.from(prior));
          const rec = ctx.recorder();
          matmulForward(ctx, rec, o1, inpB, weight, biasB, BT, C, OC);
          // No bias, accumulate with alpha: o2 = prior + 0.5·inp·Wᵀ.
          matmulForward(ctx, rec, o2, inpB, weight, null, BT, C, OC, { accumulate: true, alpha: 0.5 });
          rec.submit();
          return { o1: await ctx.readF32(o1, BT * OC), o2: await ctx.readF32(o2, BT * OC), seen };
        });
        const want = new Float64Array(BT * OC);
        forwardRef(want, inp, got.seen, bias, BT, C, OC);
        expectClose(got.o1, want, ATOL, RTOL, 'out (with bias)');
        forwardRef(want, inp, got.seen, null, BT, C, OC);
        expectClose(got.o2, want.map((v, i) => prior[i] + 0.5 * v), ATOL, RTOL, 'out (accumulate, alpha)');
      });

      it.each(SHAPES)('backward BT=%i C=%i OC=%i', async (BT, C, OC) => {
        const ctx = await getTestContext({ fallback });
        const r = rng(BT * 104729 + C * 17 + OC);
        const dout = f32(randArray(r, BT * OC));
        const prior = f32(randArray(r, BT * C));
        const wRaw = randArray(r, OC * C);
        const got = await expectNoGpuError(ctx, async () => {
          const { weight, seen } = uploadWeight(ctx, wRaw, dtype);
          const doutB = ctx.upload(Float32Array.from(dout));
          const d1 = ctx.upload(Float32Array.from(prior)); // overwritten: accumulate false
          const d2 = ctx.upload(Float32Array.from(prior));
          const rec = ctx.recorder();
          matmulBackward(ctx, rec, d1, doutB, weight, BT, C, OC, { accumulate: false });
          matmulBackward(ctx, rec, d2, doutB, weight, BT, C, OC, { accumulate: true });
          rec.submit();
          return { d1: await ctx.readF32(d1, BT * C), d2: await ctx.readF32(d2, BT * C), seen };
        });
        const want = new Float64Array(BT * C);
        backwardRef(want, dout, got.seen, BT, C, OC, { accumulate: false });
        expectClose(got.d1, want, ATOL, RTOL, 'dinp (overwrite)');
        const acc = Float64Array.from(prior);
        backwardRef(acc, dout, got.seen, BT, C, OC, { accumulate: true });
        expectClose(got.d2, acc, ATOL, RTOL, 'dinp (accumulate)');
      });

      // A tiny artificial binding limit forces the range-split path (W row ranges, activation
      // row chunks, unaligned chunk starts) on small shapes; inputs also sit at a buffer offset.
      it.each([
        [50, 40, 90, 2048],
        [9, 33, 150, 1024],
        [1, 100, 61, 768],
      ])('range-split path BT=%i C=%i OC=%i maxBindingBytes=%i', async (BT, C, OC, maxBindingBytes) => {
        const ctx = await getTestContext({ fallback });
        const r = rng(BT + C + OC + maxBindingBytes);
        const inp = f32(randArray(r, BT * C));
        const bias = f32(randArray(r, OC));
        const dout = f32(randArray(r, BT * OC));
        const prior = f32(randArray(r, BT * C));
        const wRaw = randArray(r, OC * C);
        const got = await expectNoGpuError(ctx, async () => {
          const { weight, seen } = uploadWeight(ctx, wRaw, dtype);
          const offset = 512; // tensors placed after other data in a shared buffer
          const inpBuf = ctx.createBuffer(offset + BT * C * 4);
          ctx.write(inpBuf, Float32Array.from(inp), offset);
          const inpB = { buffer: inpBuf, offset, size: BT * C * 4 };
          const out = ctx.createBuffer(BT * OC * 4);
          const doutB = ctx.upload(Float32Array.from(dout));
          const dinp = ctx.upload(Float32Array.from(prior));
          const rec = ctx.recorder();
          matmulForward(ctx, rec, out, inpB, weight, ctx.upload(Float32Array.from(bias)), BT, C, OC, { maxBindingBytes });
          matmulBackward(ctx, rec, dinp, doutB, weight, BT, C, OC, { accumulate: true, maxBindingBytes });
          rec.submit();
          return { out: await ctx.readF32(out, BT * OC), dinp: await ctx.readF32(dinp, BT * C), seen };
        });
        const want = new Float64Array(BT * OC);
        forwardRef(want, inp, got.seen, bias, BT, C, OC);
        expectClose(got.out, want, ATOL, RTOL, 'out (split)');
        const acc = Float64Array.from(prior);
        backwardRef(acc, dout, got.seen, BT, C, OC, { accumulate: true });
        expectClose(got.dinp, acc, ATOL, RTOL, 'dinp (split)');
      });
    });
  }
}

describe('matmul argument checks', () => {
  it('rejects an f16 weight on a device without shader-f16', async () => {
    const ctx = await getTestContext({ fallback: true });
    const w: Weight = { buffer: ctx.createBuffer(64), dtype: 'f16' };
    const rec = ctx.recorder();
    expect(() => matmulForward(ctx, rec, ctx.createBuffer(64), ctx.createBuffer(64), w, null, 1, 4, 4)).toThrow(/shader-f16/);
  });
  it('rejects a row too large for the binding limit', async () => {
    const ctx = await getTestContext({ fallback: true });
    const rec = ctx.recorder();
    const w: Weight = { buffer: ctx.createBuffer(4096), dtype: 'f32' };
    expect(() => matmulForward(ctx, rec, ctx.createBuffer(4096), ctx.createBuffer(4096), w, null, 1, 512, 2, { maxBindingBytes: 1024 })).toThrow(/does not fit/);
  });
});
