// Helpers shared by the kernel smoke checks (smoke-*.ts): seeded f32-exact inputs, one-submit
// runs that free their buffers, and concatenation of reference outputs.
import type { GpuContext, Recorder } from './gpu/context';
import { type BlockDType, BLOCK_GGML_TYPE } from './gpu/kernels/weights';
import { numberToF16Bits } from './model/dtype';
import { GGML_BLOCK } from './model/quant';

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

// [byte offset of each f16 scale in a block, its largest magnitude] (value ≈ d·scale·q lands in about ±1)
const BLOCK_SCALES: Record<BlockDType, [number, number][]> = {
  q8_0: [[0, 1 / 127]],
  q4_0: [[0, 1 / 8]],
  q4_k: [[0, 1 / (63 * 15)], [2, 1 / 63]], // d, dmin (value = d·sc·q − dmin·m)
  q6_k: [[208, 1 / (127 * 32)]],
};

/**
 * `n` values of random `dtype` blocks, as a GGUF file stores them: every quant and scale byte
 * random (so all bit fields take all values), the f16 super-scales random but sized so the
 * values stay in about [-1, 1].
 */
export function randomBlocks(dtype: BlockDType, n: number, rand: () => number): Uint8Array {
  const { values, bytes } = GGML_BLOCK[BLOCK_GGML_TYPE[dtype]];
  const out = new Uint8Array((n / values) * bytes);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rand() * 256);
  for (let b = 0; b < out.length; b += bytes) {
    for (const [o, max] of BLOCK_SCALES[dtype]) {
      const sign = dtype === 'q4_k' || rand() < 0.5 ? 1 : -1;
      const h = numberToF16Bits(sign * max * (0.25 + 0.75 * rand()));
      out[b + o] = h & 0xff;
      out[b + o + 1] = h >> 8;
    }
  }
  return out;
}
