// The block-format weight readers (Q8_0, Q4_0, Q4_K, Q6_K) inside the one GEMM source
// (matmul_forward, matmul_backward) and in embedding_forward, against float64 references
// on the dequantized weights (model/quant.ts's dequantize, which matches ggml bit for bit).
import { describe, expect, it } from 'vitest';
import { matmulBackward, matmulForward } from './matmul';
import { embeddingForward } from './embedding';
import { type BlockDType, BLOCK_GGML_TYPE, packWeightBlocks, weightRowBytes } from './weights';
import { matmulBackward as backwardRef, matmulForward as forwardRef } from '../../reference/matmul';
import { embeddingForward as embeddingRef } from '../../reference/embedding';
import { GGML_BLOCK, dequantize } from '../../model/quant';
import { randomBlocks } from '../../smoke-util';
import { expectClose, randArray, randInt, rng } from '../../../../test/numeric';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

const DTYPES: BlockDType[] = ['q8_0', 'q4_0', 'q4_k', 'q6_k'];

/** A [rows, C] weight of random blocks: the GPU bytes and its exact values (what ggml's dequantize gives). */
function blockWeight(dtype: BlockDType, rows: number, C: number, r: () => number): { gpu: Uint8Array; values: Float64Array } {
  const file = randomBlocks(dtype, rows * C, r);
  return { gpu: packWeightBlocks(dtype, file), values: Float64Array.from(dequantize(BLOCK_GGML_TYPE[dtype], file)) };
}

const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));

// Values are exact in f32 (the readers reproduce ggml's dequantization), so what is left is
// f32 accumulation: K ≤ 512 products of magnitude ≤ 1 round to ~√K·2⁻²⁴·|partial sums| ≲ 5e-5.
// 2e-4 keeps a margin and still catches a misread nibble or scale (those are ≥ 1e-3 · q).
const ATOL = 2e-4;
const RTOL = 1e-4;

describe.each(DTYPES)('%s weights', (dtype) => {
  const B = GGML_BLOCK[BLOCK_GGML_TYPE[dtype]].values;
  // [BT, C, OC]: C whole blocks; BT and OC odd, below, at and above the 64×64 tile.
  const shapes: [number, number, number][] = [
    [1, B, 1],
    [7, B, 70],
    [65, 2 * B, 33],
    [130, B, 191],
    [3, 2 * B, 13],
  ];

  it.each(shapes)('forward BT=%i C=%i OC=%i', async (BT, C, OC) => {
    const ctx = await getTestContext({ fallback: true });
    const r = rng(BT * 7919 + C * 31 + OC);
    const w = blockWeight(dtype, OC, C, r);
    const inp = f32(randArray(r, BT * C));
    const bias = f32(randArray(r, OC));
    const prior = f32(randArray(r, BT * OC));
    const got = await expectNoGpuError(ctx, async () => {
      const weight = { buffer: ctx.upload(w.gpu), dtype };
      const inpB = ctx.upload(Float32Array.from(inp));
      const o1 = ctx.createBuffer(BT * OC * 4);
      const o2 = ctx.upload(Float32Array.from(prior));
      const rec = ctx.recorder();
      matmulForward(ctx, rec, o1, inpB, weight, ctx.upload(Float32Array.from(bias)), BT, C, OC);
      matmulForward(ctx, rec, o2, inpB, weight, null, BT, C, OC, { accumulate: true, alpha: 0.5 });
      rec.submit();
      return { o1: await ctx.readF32(o1, BT * OC), o2: await ctx.readF32(o2, BT * OC) };
    });
    const want = new Float64Array(BT * OC);
    forwardRef(want, inp, w.values, bias, BT, C, OC);
    expectClose(got.o1, want, ATOL, RTOL, 'out (with bias)');
    forwardRef(want, inp, w.values, null, BT, C, OC);
    expectClose(got.o2, want.map((v, i) => prior[i] + 0.5 * v), ATOL, RTOL, 'out (accumulate, alpha)');
  });

  it.each(shapes)('backward (dX) BT=%i C=%i OC=%i', async (BT, C, OC) => {
    const ctx = await getTestContext({ fallback: true });
    const r = rng(BT * 104729 + C * 17 + OC);
    const w = blockWeight(dtype, OC, C, r);
    const dout = f32(randArray(r, BT * OC));
    const prior = f32(randArray(r, BT * C));
    const got = await expectNoGpuError(ctx, async () => {
      const weight = { buffer: ctx.upload(w.gpu), dtype };
      const doutB = ctx.upload(Float32Array.from(dout));
      const d1 = ctx.upload(Float32Array.from(prior));
      const d2 = ctx.upload(Float32Array.from(prior));
      const rec = ctx.recorder();
      matmulBackward(ctx, rec, d1, doutB, weight, BT, C, OC, { accumulate: false });
      matmulBackward(ctx, rec, d2, doutB, weight, BT, C, OC, { accumulate: true, alpha: 2 });
      rec.submit();
      return { d1: await ctx.readF32(d1, BT * C), d2: await ctx.readF32(d2, BT * C) };
    });
    const want = new Float64Array(BT * C);
    backwardRef(want, dout, w.values, BT, C, OC, { accumulate: false });
    expectClose(got.d1, want, ATOL, RTOL, 'dinp (overwrite)');
    expectClose(got.d2, want.map((v, i) => prior[i] + 2 * v), ATOL, RTOL, 'dinp (accumulate, alpha)');
  });

  // A small binding limit splits W into row ranges of whole alignment steps; the weight sits
  // one block into its buffer, so every range's binding starts a block before the data.
  it('range-split path with the weight at a block offset', async () => {
    const ctx = await getTestContext({ fallback: true });
    const align = ctx.caps.minStorageBufferOffsetAlignment;
    const C = B;
    const rowBytes = weightRowBytes(dtype, C, 'test');
    const quantum = align / gcd(rowBytes, align);
    const OC = 2 * quantum + 5; // three ranges: quantum, quantum, 5 rows
    const maxBindingBytes = align + (quantum + 1) * rowBytes; // fits quantum + 1 rows: rounded down to quantum
    const BT = 9;
    const r = rng(OC + C);
    const w = blockWeight(dtype, OC, C, r);
    const inp = f32(randArray(r, BT * C));
    const dout = f32(randArray(r, BT * OC));
    const got = await expectNoGpuError(ctx, async () => {
      const blockBytes = w.gpu.length / ((OC * C) / B);
      expect(blockBytes).toBeLessThan(align);
      const buf = ctx.createBuffer(blockBytes + w.gpu.length);
      ctx.write(buf, w.gpu, blockBytes);
      const weight = { buffer: { buffer: buf, offset: blockBytes, size: w.gpu.length }, dtype };
      const out = ctx.createBuffer(BT * OC * 4);
      const dinp = ctx.createBuffer(BT * C * 4);
      const rec = ctx.recorder();
      matmulForward(ctx, rec, out, ctx.upload(Float32Array.from(inp)), weight, null, BT, C, OC, { maxBindingBytes });
      matmulBackward(ctx, rec, dinp, ctx.upload(Float32Array.from(dout)), weight, BT, C, OC, { accumulate: false, maxBindingBytes });
      rec.submit();
      return { out: await ctx.readF32(out, BT * OC), dinp: await ctx.readF32(dinp, BT * C) };
    });
    const want = new Float64Array(BT * OC);
    forwardRef(want, inp, w.values, null, BT, C, OC);
    expectClose(got.out, want, ATOL, RTOL, 'out (split)');
    const wantD = new Float64Array(BT * C);
    backwardRef(wantD, dout, w.values, BT, C, OC, { accumulate: false });
    expectClose(got.dinp, wantD, ATOL, RTOL, 'dinp (split)');
  });

  // The lookup is a copy: bit-exact equality with ggml's dequantization shows the reader
  // returns exactly the file's values.
  it.each([
    [7, B, 50, false],
    [40, 2 * B, 300, true], // row ranges of two alignment steps each
  ])('embedding lookup BT=%i C=%i V=%i split=%s: exactly the dequantized rows', async (BT, C, V, split) => {
    const ctx = await getTestContext({ fallback: true });
    const rowBytes = weightRowBytes(dtype, C, 'test');
    const align = ctx.caps.minStorageBufferOffsetAlignment;
    const maxBindingBytes = split ? (2 * align * rowBytes) / gcd(rowBytes, align) + rowBytes : undefined;
    const r = rng(BT + C + V);
    const w = blockWeight(dtype, V, C, r);
    const ids = new Uint32Array(BT).map(() => randInt(r, 0, V - 1));
    ids[0] = V - 1;
    ids[1] = V + 3; // out of range: zeros
    const want = new Float64Array(BT * C);
    embeddingRef(want, ids, w.values, BT, C, V);
    const got = await expectNoGpuError(ctx, async () => {
      const O = ctx.upload(new Float32Array(BT * C).fill(NaN));
      const rec = ctx.recorder();
      embeddingForward(ctx, rec, O, ctx.upload(ids), ctx.upload(w.gpu), BT, C, V, { dtype, maxBindingBytes });
      rec.submit();
      return ctx.readF32(O, BT * C);
    });
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it('refuses rows that are not whole blocks, naming the rule', async () => {
    const ctx = await getTestContext({ fallback: true });
    const rec = ctx.recorder();
    const weight = { buffer: ctx.createBuffer(4096), dtype };
    const C = B + 16;
    const re = new RegExp(`${dtype} weight needs its row length \\(the input features\\) to be a multiple of ${B}, got ${C}`);
    expect(() => matmulForward(ctx, rec, ctx.createBuffer(4096), ctx.createBuffer(4096), weight, null, 1, C, 2)).toThrow(re);
    expect(() => matmulBackward(ctx, rec, ctx.createBuffer(4096), ctx.createBuffer(4096), weight, 1, C, 2, { accumulate: false })).toThrow(re);
    expect(() => embeddingForward(ctx, rec, ctx.createBuffer(4096), ctx.createBuffer(16), weight.buffer, 1, C, 2, { dtype })).toThrow(re);
  });

  it('refuses a weight whose binding offset is not whole blocks', async () => {
    const ctx = await getTestContext({ fallback: true });
    const rec = ctx.recorder();
    const weight = { buffer: { buffer: ctx.createBuffer(8192), offset: 4, size: 4096 }, dtype };
    expect(() => matmulForward(ctx, rec, ctx.createBuffer(4096), ctx.createBuffer(4096), weight, null, 1, B, 2)).toThrow(/whole blocks/);
  });
});

describe('packWeightBlocks', () => {
  it('pads each block to whole words; Q8_0 and Q4_0 put their f16 scale behind the values', () => {
    const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => i + 1);
    const list = (a: Uint8Array) => Array.from(a);
    const q8 = bytes(68); // two Q8_0 blocks of 34 bytes: d (2), 32 values
    const gpu8 = packWeightBlocks('q8_0', q8);
    expect(gpu8.length).toBe(72);
    expect(list(gpu8.subarray(0, 36))).toEqual([...list(q8.subarray(2, 34)), 1, 2, 0, 0]);
    expect(list(gpu8.subarray(36))).toEqual([...list(q8.subarray(36, 68)), 35, 36, 0, 0]);
    const q4 = bytes(36); // two Q4_0 blocks of 18 bytes: d (2), 16 nibble bytes
    expect(list(packWeightBlocks('q4_0', q4))).toEqual([...list(q4.subarray(2, 18)), 1, 2, 0, 0, ...list(q4.subarray(20, 36)), 19, 20, 0, 0]);
    const q4k = bytes(144);
    expect(packWeightBlocks('q4_k', q4k)).toBe(q4k);
    expect(list(packWeightBlocks('q6_k', bytes(210)))).toEqual([...list(bytes(210)), 0, 0]);
    expect(() => packWeightBlocks('q6_k', new Uint8Array(211))).toThrow(/not a whole number of 210-byte blocks/);
  });
});

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
