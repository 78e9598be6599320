// Storage formats of frozen weights and the WGSL reader of each (shaders/lib/weights_*.wgsl,
// prepended to matmul_forward, matmul_backward and embedding_forward). A new format (a GGUF
// block format) is one more reader here and in shaders/lib/; the kernels stay as they are.
import f32Reader from '../../../../shaders/lib/weights_f32.wgsl?raw';
import f16Reader from '../../../../shaders/lib/weights_f16.wgsl?raw';
import type { GpuContext } from '../context';

export type WeightDType = 'f32' | 'f16';

interface WeightFormat {
  /** The reader library: `alias WeightStore` and `fn loadWeight(i: u32) -> f32`. */
  reader: string;
  /** Bytes per element in storage. */
  elemBytes: number;
}

const FORMATS: Record<WeightDType, WeightFormat> = {
  f32: { reader: f32Reader, elemBytes: 4 },
  f16: { reader: f16Reader, elemBytes: 2 },
};

/** The format of `dtype`, checked against what `ctx` can read (f16 needs shader-f16). */
export function weightFormat(ctx: GpuContext, dtype: WeightDType, what: string): WeightFormat {
  const f = FORMATS[dtype];
  if (!f) throw new Error(`${what}: unknown weight dtype ${String(dtype)}`);
  if (dtype === 'f16' && !ctx.caps.f16) throw new Error(`${what}: an f16 weight needs the shader-f16 feature; convert it to f32 at load time`);
  return f;
}
