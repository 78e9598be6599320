// Helpers shared by the kernel smoke checks (smoke-*.ts): seeded f32-exact inputs, one-submit
// runs that free their buffers, and concatenation of reference outputs.
import type { GpuContext, Recorder } from './gpu/context';

/** n values uniform in ±scale/2, rounded to f32 so the float64 reference sees the GPU's inputs. */
export const randF32 = (rand: () => number, n: number, scale = 2): Float64Array => Float64Array.from({ length: n }, () => Math.fround(rand() * scale));

/**
 * Uploads `inputs` and allocates `outputs` (element counts), records `body` into one submit,
 * reads back the buffers listed in `read` as [buffer index, element count] (concatenated)
 * and frees everything.
 */
export async function runOnce(
  ctx: GpuContext,
  inputs: ArrayBufferView[],
  outputs: number[],
  body: (rec: Recorder, b: GPUBuffer[]) => void,
  read: [number, number][],
): Promise<Float32Array> {
  const bufs = [...inputs.map((a) => ctx.upload(a)), ...outputs.map((n) => ctx.createBuffer(n * 4))];
  try {
    const rec = ctx.recorder();
    body(rec, bufs);
    rec.submit();
    const parts: Float32Array[] = [];
    for (const [k, n] of read) parts.push(await ctx.readF32(bufs[k], n));
    return Float32Array.from(parts.flatMap((p) => Array.from(p)));
  } finally {
    for (const b of bufs) ctx.destroy(b);
  }
}

export const concat = (...xs: ArrayLike<number>[]): Float64Array => Float64Array.from(xs.flatMap((x) => Array.from(x)));
