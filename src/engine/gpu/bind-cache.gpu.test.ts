// The bind-group cache, the pipeline cache and the persistent uniform arena (GpuContext.cacheBindings): a reused
// binding must never point at a stale buffer or stale parameters; neither may a replayed recording.
import { describe, expect, it } from 'vitest';
import { expectNoGpuError, getTestContext } from '../../../test/gpu-device';
import type { GpuContext, TapeStore } from './context';
import { reduceSum } from './kernels/norm';
import { addInPlace, residualForward } from './kernels/residual';

const N = 1000;
const ramp = (k: number) => Float32Array.from({ length: N }, (_, i) => (i % 97) * k);

async function add(ctx: GpuContext, out: GPUBuffer, a: GPUBuffer, b: GPUBuffer): Promise<Float32Array> {
  const rec = ctx.recorder('add');
  residualForward(ctx, rec, out, a, b, N);
  rec.submit();
  return ctx.readF32(out, N);
}

describe('bind-group cache', () => {
  it('reuses the bind group of a repeated dispatch, and a reallocated input is read, not the destroyed one', async () => {
    const ctx = await getTestContext();
    await expectNoGpuError(ctx, async () => {
      const out = ctx.createBuffer(N * 4);
      let a = ctx.upload(ramp(1));
      const b = ctx.upload(ramp(2));
      expect(Array.from(await add(ctx, out, a, b))).toEqual(Array.from(ramp(3)));
      const cached = ctx.cachedBindGroups;
      expect(Array.from(await add(ctx, out, a, b))).toEqual(Array.from(ramp(3)));
      expect(ctx.cachedBindGroups).toBe(cached); // hit: nothing new
      ctx.destroy(a);
      expect(ctx.cachedBindGroups).toBe(cached - 1); // evicted with its buffer
      a = ctx.upload(ramp(5)); // same size, quite possibly the same memory: still a new binding
      expect(Array.from(await add(ctx, out, a, b))).toEqual(Array.from(ramp(7)));
      for (const x of [a, b, out]) ctx.destroy(x);
    });
  });

  it('keys by byte range: the same buffer bound at another offset is another bind group', async () => {
    const ctx = await getTestContext();
    await expectNoGpuError(ctx, async () => {
      const big = ctx.upload(Float32Array.from({ length: 1024 + N }, (_, i) => i));
      const zero = ctx.upload(new Float32Array(N));
      const out = ctx.createBuffer(N * 4);
      for (const half of [0, 1, 0]) {
        const rec = ctx.recorder();
        residualForward(ctx, rec, out, { buffer: big, offset: half * 4096, size: N * 4 }, zero, N); // 256-aligned
        rec.submit();
        expect(Array.from(await ctx.readF32(out, N))).toEqual(Array.from({ length: N }, (_, i) => i + half * 1024));
      }
      for (const x of [big, zero, out]) ctx.destroy(x);
    });
  });

  it('a reused bind group reads the parameters of the recording it is in (arena rewritten per recording)', async () => {
    const ctx = await getTestContext();
    await expectNoGpuError(ctx, async () => {
      const dst = ctx.upload(new Float32Array(N));
      const src = ctx.upload(ramp(1));
      // 300 dispatches: more slots than a new arena holds, so it grows within the first recording.
      const record = (alphas: number[]) => {
        const rec = ctx.recorder();
        rec.clear(dst);
        for (const alpha of alphas) addInPlace(ctx, rec, dst, src, N, alpha);
        rec.submit();
      };
      const first = Array.from({ length: 300 }, (_, i) => (i === 299 ? 1 : 0));
      record(first);
      const cached = ctx.cachedBindGroups;
      record(first.map((x, i) => (i === 0 ? 2 : x))); // same graph, other scalars
      expect(ctx.cachedBindGroups).toBe(cached);
      expect(Array.from(await ctx.readF32(dst, N))).toEqual(Array.from(ramp(3)));
      for (const x of [dst, src]) ctx.destroy(x);
    });
  });

  it('recorders open at the same time keep their own parameters', async () => {
    const ctx = await getTestContext();
    await expectNoGpuError(ctx, async () => {
      const src = ctx.upload(ramp(1));
      const d1 = ctx.upload(new Float32Array(N));
      const d2 = ctx.upload(new Float32Array(N));
      const r1 = ctx.recorder();
      const r2 = ctx.recorder();
      addInPlace(ctx, r1, d1, src, N, 3);
      addInPlace(ctx, r2, d2, src, N, 5);
      r2.submit();
      r1.submit();
      expect(Array.from(await ctx.readF32(d1, N))).toEqual(Array.from(ramp(3)));
      expect(Array.from(await ctx.readF32(d2, N))).toEqual(Array.from(ramp(5)));
      for (const x of [src, d1, d2]) ctx.destroy(x);
    });
  });
});

describe('replayed recordings (Recorder.replayOr)', () => {
  const sumOf = (k: number) => Array.from({ length: N }, (_, i) => (i % 97) * k).reduce((a, b) => a + b, 0);

  it('re-pack step values, and re-record when a bound buffer was replaced (never replay a stale binding)', async () => {
    const ctx = await getTestContext();
    await expectNoGpuError(ctx, async () => {
      const tapes: TapeStore = new Map();
      const out = ctx.createBuffer(16);
      const held = { inp: ctx.upload(ramp(1)) };
      // out[0] = scale · Σ inp, scale a step value; the body reads whatever buffer `held` has now.
      const step = async (scale: number) => {
        const rec = ctx.recorder();
        rec.replayOr(tapes, 'sum', { scale }, () => reduceSum(ctx, rec, out, held.inp, N, { scale: (v) => v.scale }));
        rec.submit();
        return (await ctx.readF32(out, 1))[0];
      };
      const replayed = ctx.tapesReplayed;
      expect(await step(1)).toBe(sumOf(1)); // captured
      expect(await step(2)).toBe(sumOf(2)); // replayed, the scale re-packed
      expect(await step(0.5)).toBe(sumOf(0.5));
      expect(ctx.tapesReplayed - replayed).toBe(2);
      ctx.destroy(held.inp);
      held.inp = ctx.upload(ramp(3)); // quite possibly the same memory: the tape's bind group is stale all the same
      expect(await step(1)).toBe(sumOf(3)); // re-recorded, not replayed
      expect(ctx.tapesReplayed - replayed).toBe(2);
      expect(await step(2)).toBe(sumOf(6)); // and the new tape replays
      expect(ctx.tapesReplayed - replayed).toBe(3);
      for (const x of [out, held.inp]) ctx.destroy(x);
    });
  });

  it('without replayTapes or with bind groups uncached, every recording runs its body', async () => {
    const ctx = await getTestContext();
    await expectNoGpuError(ctx, async () => {
      const tapes: TapeStore = new Map();
      const out = ctx.createBuffer(16);
      const inp = ctx.upload(ramp(1));
      let bodies = 0;
      const step = () => {
        const rec = ctx.recorder();
        rec.replayOr(tapes, 'sum', {}, () => {
          bodies++;
          reduceSum(ctx, rec, out, inp, N);
        });
        rec.submit();
      };
      for (const [cache, replay] of [[true, false], [false, true]]) {
        ctx.cacheBindings = cache;
        ctx.replayTapes = replay;
        try {
          step();
          step();
        } finally {
          ctx.cacheBindings = true;
          ctx.replayTapes = true;
        }
      }
      expect(bodies).toBe(4);
      step(); // both on: captured now, replayed next
      step();
      expect(bodies).toBe(5);
      expect((await ctx.readF32(out, 1))[0]).toBe(sumOf(1));
      for (const x of [out, inp]) ctx.destroy(x);
    });
  });
});

describe('pipeline cache', () => {
  it('compiles a pipeline once per source, entry point and constants, and records each compile', async () => {
    const ctx = await getTestContext();
    const code = 'override K: u32 = 1u;\n@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n@compute @workgroup_size(1) fn main() { o[0] = K; }\n';
    const n0 = ctx.compiledPipelines.length;
    const a = ctx.pipeline(code, { constants: { K: 2 }, label: 'census test' });
    expect(ctx.pipeline(code, { constants: { K: 2 }, label: 'census test' })).toBe(a);
    expect(ctx.compiledPipelines.length).toBe(n0 + 1);
    expect(ctx.pipeline(code, { constants: { K: 3 }, label: 'census test' })).not.toBe(a);
    expect(ctx.compiledPipelines.slice(n0)).toEqual([
      { label: 'census test', entryPoint: 'main', constants: { K: 2 } },
      { label: 'census test', entryPoint: 'main', constants: { K: 3 } },
    ]);
  });
});
