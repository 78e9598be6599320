import { describe, expect, it } from 'vitest';
import { type LoraPart, loraBackward, loraBackwardWeights, loraDown, loraDownGroup, loraForward, loraGradAGroup } from './lora';
import { matmulBackward, matmulForward } from './matmul';
import { type Dropout, loraBackward as backwardRef, loraForward as forwardRef } from '../../reference/lora';
import { expectClose, randArray, randInt, rng } from '../../../../test/numeric';
import { expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * f32 sums of up to ~300 products (over C, OC or BT) of f32-exact inputs: the rounding error
 * is bounded by about K·2⁻²⁴ ≈ 2e-5 of the largest partial sum, so atol is 3e-5 of the
 * tensor's largest magnitude; rtol 1e-4 covers elements near it. Index or mask errors are O(1).
 */
function expectCloseScaled(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expectClose(got, want, 3e-5 * Math.max(1, maxAbs(want)), 1e-4, what);
}

// [BT, C, OC, R]: T=1, ranks 1..64, sizes not multiples of the 4/16/64 tiles, BT up to 300.
const SHAPES: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [1, 37, 70, 3],
  [65, 129, 17, 16],
  [300, 100, 33, 7],
  [130, 77, 191, 64],
  [17, 200, 50, 33],
  // Seeded random shapes: BT in 1..300, C and OC in 1..260, R in 1..64.
  ...Array.from({ length: 3 }, (_, i) => {
    const r = rng(777 + i);
    return [randInt(r, 1, 300), randInt(r, 1, 260), randInt(r, 1, 260), randInt(r, 1, 64)] as [number, number, number, number];
  }),
];
// The fused-epilogue cases: SHAPES, plus one with storage bindings capped at 8 KiB, so the
// activations run in row chunks and W (and B) in row ranges: several fused dispatches.
const FUSED_CASES: [number, number, number, number, number | undefined][] = [...SHAPES.map((s) => [...s, undefined] as [number, number, number, number, undefined]), [130, 77, 191, 16, 8192]];
const DROPOUTS: Dropout[] = [
  { p: 0, seed: 0 },
  { p: 0.25, seed: 0xdeadbeef },
];

for (const fallback of [false, true]) {
  describe(`lora (fallback=${fallback})`, () => {
    for (const dropout of DROPOUTS) {
      it.each(SHAPES)(`forward + backward BT=%i C=%i OC=%i R=%i, dropout p=${dropout.p}`, async (BT, C, OC, R) => {
        const ctx = await getTestContext({ fallback });
        const r = rng(BT * 7 + C * 131 + OC * 17 + R + (dropout.p > 0 ? 1 : 0));
        const inp = f32(randArray(r, BT * C));
        const A = f32(randArray(r, R * C));
        const B = f32(randArray(r, OC * R));
        const out0 = f32(randArray(r, BT * OC)); // the base layer's output
        const dout = f32(randArray(r, BT * OC));
        const dinp0 = f32(randArray(r, BT * C)); // the base layer's dinp
        const dA0 = f32(randArray(r, R * C));
        const dB0 = f32(randArray(r, OC * R));
        const scaling = 2 / R;
        const up = (a: Float64Array) => ctx.upload(Float32Array.from(a));
        const got = await expectNoGpuError(ctx, async () => {
          const inpB = up(inp);
          const AB = up(A);
          const BB = up(B);
          const outB = up(out0);
          const hB = ctx.createBuffer(BT * R * 4);
          const dhB = ctx.createBuffer(BT * R * 4);
          const dinpB = up(dinp0);
          const dAB = up(dA0);
          const dBB = up(dB0);
          const rec = ctx.recorder();
          loraForward(ctx, rec, outB, hB, inpB, AB, BB, BT, C, OC, R, scaling, dropout);
          loraBackward(ctx, rec, dinpB, dAB, dBB, dhB, up(dout), inpB, hB, AB, BB, BT, C, OC, R, scaling, dropout);
          rec.submit();
          return {
            out: await ctx.readF32(outB, BT * OC),
            h: await ctx.readF32(hB, BT * R),
            dh: await ctx.readF32(dhB, BT * R),
            dinp: await ctx.readF32(dinpB, BT * C),
            dA: await ctx.readF32(dAB, R * C),
            dB: await ctx.readF32(dBB, OC * R),
          };
        });
        const out = Float64Array.from(out0);
        const h = new Float64Array(BT * R);
        forwardRef(out, h, inp, A, B, BT, C, OC, R, scaling, dropout);
        expectCloseScaled(got.h, h, 'h');
        expectCloseScaled(got.out, out, 'out');
        const dinp = Float64Array.from(dinp0);
        const dA = Float64Array.from(dA0);
        const dB = Float64Array.from(dB0);
        const dh = new Float64Array(BT * R);
        // The backward reference consumes the GPU's h so dB is checked on its own, not through h's error.
        backwardRef(dinp, dA, dB, dh, dout, inp, Float64Array.from(got.h), A, B, BT, C, OC, R, scaling, dropout);
        expectCloseScaled(got.dh, dh, 'dh');
        expectCloseScaled(got.dB, dB, 'dB');
        expectCloseScaled(got.dA, dA, 'dA');
        expectCloseScaled(got.dinp, dinp, 'dinp');
      });
    }

    // The model's forward: loraDown, then the base matmul with the up-projection as its
    // epilogue. Must equal the base matmul then loraForward bit for bit (a fused step changes
    // no trained value).
    it.each(FUSED_CASES)(
      'fused up-projection epilogue is bit-identical to base + loraForward BT=%i C=%i OC=%i R=%i maxBinding=%s',
      async (BT, C, OC, R, maxBindingBytes) => {
        const ctx = await getTestContext({ fallback });
        const r = rng(BT * 3 + C * 5 + OC * 7 + R);
        const up = (n: number) => ctx.upload(Float32Array.from(randArray(r, n)));
        const inp = up(BT * C);
        const W = { buffer: up(OC * C), dtype: 'f32' as const };
        const bias = up(OC);
        const A = up(R * C);
        const B = up(OC * R);
        for (const dropout of DROPOUTS) {
          const scaling = 2 / R;
          const [outF, outU, outBase] = [0, 1, 2].map(() => ctx.createBuffer(BT * OC * 4));
          const [hF, hU] = [0, 1].map(() => ctx.createBuffer(BT * R * 4));
          const got = await expectNoGpuError(ctx, async () => {
            const rec = ctx.recorder();
            matmulForward(ctx, rec, outU, inp, W, bias, BT, C, OC, { maxBindingBytes });
            matmulForward(ctx, rec, outBase, inp, W, bias, BT, C, OC, { maxBindingBytes });
            loraForward(ctx, rec, outU, hU, inp, A, B, BT, C, OC, R, scaling, dropout);
            loraDown(ctx, rec, hF, inp, A, BT, C, R, dropout);
            matmulForward(ctx, rec, outF, inp, W, bias, BT, C, OC, { maxBindingBytes, loraUp: { h: hF, B, R, alpha: scaling } });
            rec.submit();
            return Promise.all([outF, outU, outBase, hF, hU].map((b, i) => ctx.readF32(b, (i < 3 ? OC : R) * BT)));
          });
          const [oF, oU, oBase, h1, h2] = got;
          expect(Array.from(h1)).toEqual(Array.from(h2));
          const diff = oF.findIndex((v, i) => !Object.is(v, oU[i]));
          expect(diff, `first differing element (dropout p=${dropout.p})`).toBe(-1);
          // Not vacuous: the epilogue really added the LoRA term (dropout may drop a 1×1 input whole).
          if (dropout.p === 0) expect(maxAbs(oF.map((v, i) => v - oBase[i]))).toBeGreaterThan(1e-3);
        }
      },
    );

    // The model's backward: loraBackwardWeights, then the base input gradient with LoRA's dinp
    // term as its epilogue. Must equal the base backward then loraBackward bit for bit, onto a
    // fresh dinp and accumulating. With W in row ranges, the term joins the last one.
    it.each(FUSED_CASES)(
      'fused dinp epilogue is bit-identical to base backward + loraBackward BT=%i C=%i OC=%i R=%i maxBinding=%s',
      async (BT, C, OC, R, maxBindingBytes) => {
        const ctx = await getTestContext({ fallback });
        const r = rng(BT * 11 + C * 13 + OC * 3 + R);
        const up = (n: number) => ctx.upload(Float32Array.from(randArray(r, n)));
        const [inp, dout, h, dinp0] = [BT * C, BT * OC, BT * R, BT * C].map(up);
        const W = { buffer: up(OC * C), dtype: 'f32' as const };
        const A = up(R * C);
        const B = up(OC * R);
        const read = (b: GPUBuffer, n: number) => ctx.readF32(b, n);
        for (const dropout of DROPOUTS) {
          for (const accumulate of [false, true]) {
            const scaling = 2 / R;
            const copy = () => {
              const b = ctx.createBuffer(BT * C * 4);
              const rec = ctx.recorder();
              rec.copy(dinp0, 0, b, 0, BT * C * 4);
              rec.submit();
              return b;
            };
            const [dinpF, dinpU, dinpBase] = [copy(), copy(), copy()];
            const [dhF, dhU] = [0, 1].map(() => ctx.createBuffer(BT * R * 4));
            const grads = () => [ctx.createBuffer(R * C * 4), ctx.createBuffer(OC * R * 4)];
            const [[dAF, dBF], [dAU, dBU]] = [grads(), grads()];
            const got = await expectNoGpuError(ctx, async () => {
              const rec = ctx.recorder();
              matmulBackward(ctx, rec, dinpU, dout, W, BT, C, OC, { accumulate, maxBindingBytes });
              loraBackward(ctx, rec, dinpU, dAU, dBU, dhU, dout, inp, h, A, B, BT, C, OC, R, scaling, dropout);
              matmulBackward(ctx, rec, dinpBase, dout, W, BT, C, OC, { accumulate, maxBindingBytes });
              loraBackwardWeights(ctx, rec, dAF, dBF, dhF, dout, inp, h, B, BT, C, OC, R, scaling, dropout);
              matmulBackward(ctx, rec, dinpF, dout, W, BT, C, OC, { accumulate, maxBindingBytes, loraDx: { dh: dhF, A, R, alpha: 1, dropout } });
              rec.submit();
              return Promise.all([read(dinpF, BT * C), read(dinpU, BT * C), read(dinpBase, BT * C), read(dAF, R * C), read(dAU, R * C), read(dBF, OC * R), read(dBU, OC * R)]);
            });
            const [fF, fU, fBase, aF, aU, bF, bU] = got;
            const what = `(dropout p=${dropout.p}, accumulate=${accumulate})`;
            expect(fF.findIndex((v, i) => !Object.is(v, fU[i])), `first differing dinp ${what}`).toBe(-1);
            expect(Array.from(aF), `dA ${what}`).toEqual(Array.from(aU));
            expect(Array.from(bF), `dB ${what}`).toEqual(Array.from(bU));
            // Not vacuous: the epilogue really added the LoRA term (dropout may drop a 1×1 input whole).
            if (dropout.p === 0) expect(maxAbs(fF.map((v, i) => v - fBase[i]))).toBeGreaterThan(1e-3);
          }
        }
      },
    );

    // The model's q/k/v (and gate/up) down-projections and dA: one dispatch for the group (h,
    // dh ranges of one buffer, A, dA of the flat LoRA buffers, a mask per module), bit for bit
    // what a dispatch per module gives.
    it.each([
      [2, 65, 129, 16],
      [3, 130, 77, 7],
      [3, 17, 200, 33],
    ])('grouped down-projection and dA of %i modules are bit-identical to one dispatch each BT=%i C=%i R=%i', async (G, BT, C, R) => {
      const ctx = await getTestContext({ fallback });
      const r = rng(G * 1000 + BT + C + R);
      const stride = Math.ceil((BT * R) / 64) * 64; // 256-byte aligned ranges, as the arena lays them out
      const aStride = Math.ceil((R * C + 50) / 64) * 64; // A's apart, something else between, as in the flat LoRA buffer
      const inp = ctx.upload(Float32Array.from(randArray(r, BT * C)));
      const params = ctx.upload(Float32Array.from(randArray(r, G * aStride)));
      const dhs = ctx.upload(Float32Array.from(randArray(r, G * stride)));
      const range = (buffer: GPUBuffer, i: number, at: number, n: number) => ({ buffer, offset: i * at * 4, size: n * 4 });
      for (const p of [0, 0.25]) {
        const parts = (h: GPUBuffer, dA: GPUBuffer, dh?: GPUBuffer): LoraPart[] =>
          Array.from({ length: G }, (_, i) => ({ h: range(dh ?? h, i, stride, BT * R), A: range(dh ? dA : params, i, aStride, R * C), dropout: { p, seed: 0x1234 + 77 * i } }));
        const [hG, hS] = [0, 1].map(() => ctx.createBuffer(G * stride * 4));
        const [dAG, dAS] = [0, 1].map(() => ctx.upload(Float32Array.from(randArray(rng(9), G * aStride))));
        const got = await expectNoGpuError(ctx, async () => {
          const rec = ctx.recorder();
          const d0 = ctx.dispatches;
          loraDownGroup(ctx, rec, parts(hG, params), inp, BT, C, R);
          loraGradAGroup(ctx, rec, parts(hG, dAG, dhs), inp, BT, C, R);
          const grouped = ctx.dispatches - d0;
          for (const part of parts(hS, params)) loraDown(ctx, rec, part.h, inp, part.A, BT, C, R, part.dropout);
          for (const part of parts(hS, dAS, dhs)) loraGradAGroup(ctx, rec, [part], inp, BT, C, R);
          const separate = ctx.dispatches - d0 - grouped;
          rec.submit();
          return { grouped, separate, bufs: await Promise.all([hG, hS, dAG, dAS].map((b) => ctx.readF32(b))) };
        });
        expect([got.grouped, got.separate]).toEqual([2, 2 * G]);
        const [h1, h2, a1, a2] = got.bufs;
        expect(h1.findIndex((v, i) => !Object.is(v, h2[i])), `first differing h (p=${p})`).toBe(-1);
        expect(a1.findIndex((v, i) => !Object.is(v, a2[i])), `first differing dA (p=${p})`).toBe(-1);
        // Not vacuous: each module got its own h, and with dropout its own mask (module 1 through module 0's mask differs).
        expect(maxAbs(h1.subarray(0, BT * R).map((v, i) => v - h1[stride + i]))).toBeGreaterThan(1e-3);
        if (p > 0) {
          const h = ctx.createBuffer(BT * R * 4);
          const rec = ctx.recorder();
          loraDown(ctx, rec, h, inp, range(params, 1, aStride, R * C), BT, C, R, { p, seed: 0x1234 });
          rec.submit();
          const other = await ctx.readF32(h);
          expect(maxAbs(other.map((v, i) => v - h1[stride + i]))).toBeGreaterThan(1e-3);
        }
      }
    });

    it('dropout p = 0 is bit-identical to no dropout; p > 0 really drops', async () => {
      const ctx = await getTestContext({ fallback });
      const [BT, C, R] = [33, 70, 8];
      const r = rng(5);
      const inp = ctx.upload(Float32Array.from(randArray(r, BT * C)));
      const A = { buffer: ctx.upload(Float32Array.from(randArray(r, R * C))), dtype: 'f32' as const };
      const outs = [0, 1, 2].map(() => ctx.createBuffer(BT * R * 4));
      const rec = ctx.recorder();
      matmulForward(ctx, rec, outs[0], inp, A, null, BT, C, R);
      matmulForward(ctx, rec, outs[1], inp, A, null, BT, C, R, { dropout: { p: 0, seed: 1234 } });
      matmulForward(ctx, rec, outs[2], inp, A, null, BT, C, R, { dropout: { p: 0.5, seed: 1234 } });
      rec.submit();
      const [plain, p0, p5] = await Promise.all(outs.map((b) => ctx.readF32(b, BT * R)));
      expect(Array.from(p0)).toEqual(Array.from(plain));
      expect(maxAbs(p5.map((v, i) => v - plain[i]))).toBeGreaterThan(0.1);
    });
  });
}
