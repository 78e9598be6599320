// Kernel smoke checks: every kernel once, on a small random problem, against its float64
// reference. Used in real Chromium (whose Dawn differs from Node's) through the worker, and
// by the GPU status panel. Add one entry per kernel.
import type { GpuContext } from './gpu/context';
import { residualForward } from './gpu/kernels/residual';
import { residualForward as residualRef } from './reference/residual';
import { elementwiseSmokeChecks } from './smoke-elementwise';

export interface SmokeResult {
  kernel: string;
  ok: boolean;
  maxAbsErr: number;
  tolerance: number;
  ms: number;
  error?: string;
}

export interface SmokeCheck {
  kernel: string;
  /** atol + rtol·|ref| bound, applied element-wise. */
  atol: number;
  rtol: number;
  run(ctx: GpuContext, rand: () => number): Promise<{ got: Float32Array; want: Float64Array }>;
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

const randF64 = (rand: () => number, n: number) => Float64Array.from({ length: n }, rand);

const checks: SmokeCheck[] = [
  {
    kernel: 'residual_forward',
    atol: 1e-6,
    rtol: 1e-6,
    async run(ctx, rand) {
      const N = 1000;
      const a = randF64(rand, N);
      const b = randF64(rand, N);
      const want = new Float64Array(N);
      residualRef(want, a, b, N);
      const out = ctx.createBuffer(N * 4);
      const rec = ctx.recorder();
      residualForward(ctx, rec, out, ctx.upload(Float32Array.from(a)), ctx.upload(Float32Array.from(b)), N);
      rec.submit();
      return { got: await ctx.readF32(out, N), want };
    },
  },
  ...elementwiseSmokeChecks,
];

export const smokeKernelNames = (): string[] => checks.map((c) => c.kernel);

export async function runKernelSmoke(ctx: GpuContext): Promise<SmokeResult[]> {
  const results: SmokeResult[] = [];
  for (const c of checks) {
    const t0 = performance.now();
    try {
      ctx.device.pushErrorScope('validation');
      const { got, want } = await c.run(ctx, seeded(42));
      const err = await ctx.device.popErrorScope();
      if (err) throw new Error(err.message);
      let maxAbsErr = 0;
      let ok = got.length === want.length;
      for (let i = 0; i < want.length; i++) {
        const d = Math.abs(got[i] - want[i]);
        if (!(d <= c.atol + c.rtol * Math.abs(want[i]))) ok = false;
        if (!(d <= maxAbsErr)) maxAbsErr = d;
      }
      results.push({ kernel: c.kernel, ok, maxAbsErr, tolerance: c.atol, ms: performance.now() - t0 });
    } catch (e) {
      results.push({ kernel: c.kernel, ok: false, maxAbsErr: NaN, tolerance: c.atol, ms: performance.now() - t0, error: String((e as Error).message ?? e) });
    }
  }
  return results;
}
