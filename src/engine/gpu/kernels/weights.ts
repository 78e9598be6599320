// Storage formats of frozen weights and the WGSL reader of each (shaders/lib/weights_*.wgsl,
// prepended to matmul_forward, matmul_backward and embedding_forward). A new format is one
// more reader here and in shaders/lib/; the kernels stay as they are.
// Block formats (GGUF Q8_0, Q4_0, Q4_K, Q6_K) are stored as the file's blocks, each padded
// with zero bytes to whole u32 words (packWeightBlocks): the reader dequantizes on the fly,
// so the values are exactly the file's. Q8_0 and Q4_0 blocks also move their leading f16
// scale behind the values, so every 4 consecutive values lie in one aligned word (the GEMM
// reads them 4 at a time: a 2-byte offset would make each group straddle two words). A row
// (K, the input features) must be whole blocks.
import f32Reader from '../../../../shaders/lib/weights_f32.wgsl?raw';
import f16Reader from '../../../../shaders/lib/weights_f16.wgsl?raw';
import blocksLib from '../../../../shaders/lib/weights_blocks.wgsl?raw';
import q8_0Reader from '../../../../shaders/lib/weights_q8_0.wgsl?raw';
import q4_0Reader from '../../../../shaders/lib/weights_q4_0.wgsl?raw';
import q4_kReader from '../../../../shaders/lib/weights_q4_k.wgsl?raw';
import q6_kReader from '../../../../shaders/lib/weights_q6_k.wgsl?raw';
import type { GpuContext } from '../context';
import { GGML_BLOCK, type QuantType } from '../../model/quant';

export type WeightDType = 'f32' | 'f16' | 'q8_0' | 'q4_0' | 'q4_k' | 'q6_k';
export type BlockDType = Exclude<WeightDType, 'f32' | 'f16'>;

export interface WeightFormat {
  /** The reader libraries, in order: they define `alias WeightStore` and `fn loadWeight(i: u32) -> f32`. */
  readers: readonly string[];
  /** Values per block (1 for f32/f16): a weight row must be a whole number of blocks. */
  blockValues: number;
  /** Bytes per block in GPU storage (the file's block padded to whole words). */
  blockBytes: number;
  /** Block formats whose file block starts with its f16 scale: on the GPU the scale follows the values. */
  scaleLast?: boolean;
}

const blockFormat = (type: QuantType, reader: string, scaleLast = false): WeightFormat => {
  const b = GGML_BLOCK[type];
  return { readers: [blocksLib, reader], blockValues: b.values, blockBytes: Math.ceil(b.bytes / 4) * 4, scaleLast };
};
const F16_SCALE_BYTES = 2;

const FORMATS: Record<WeightDType, WeightFormat> = {
  f32: { readers: [f32Reader], blockValues: 1, blockBytes: 4 },
  f16: { readers: [f16Reader], blockValues: 1, blockBytes: 2 },
  q8_0: blockFormat('Q8_0', q8_0Reader, true),
  q4_0: blockFormat('Q4_0', q4_0Reader, true),
  q4_k: blockFormat('Q4_K', q4_kReader),
  q6_k: blockFormat('Q6_K', q6_kReader),
};

/** The ggml type each block dtype stores. */
export const BLOCK_GGML_TYPE: Record<BlockDType, QuantType> = { q8_0: 'Q8_0', q4_0: 'Q4_0', q4_k: 'Q4_K', q6_k: 'Q6_K' };

export function isBlockDType(d: WeightDType): d is BlockDType {
  return d in BLOCK_GGML_TYPE;
}

/** The format of `dtype`, checked against what `ctx` can read (f16 needs shader-f16; block formats need nothing). */
export function weightFormat(ctx: GpuContext, dtype: WeightDType, what: string): WeightFormat {
  const f = FORMATS[dtype];
  if (!f) throw new Error(`${what}: unknown weight dtype ${String(dtype)} (supported: ${Object.keys(FORMATS).join(', ')})`);
  if (dtype === 'f16' && !ctx.caps.f16) throw new Error(`${what}: an f16 weight needs the shader-f16 feature; convert it to f32 at load time`);
  return f;
}

/** GPU bytes of one row of `rowLength` values; throws, naming the rule, when the row is not whole blocks. */
export function weightRowBytes(dtype: WeightDType, rowLength: number, what: string): number {
  const f = FORMATS[dtype];
  if (rowLength % f.blockValues) {
    throw new Error(`${what}: a ${dtype} weight needs its row length (the input features) to be a multiple of ${f.blockValues}, got ${rowLength}`);
  }
  return (rowLength / f.blockValues) * f.blockBytes;
}

/**
 * A GGUF tensor's blocks (as the file stores them) → the GPU layout of `dtype`: each block
 * zero-padded to whole words, Q8_0's and Q4_0's f16 scale moved behind the values. Bytes
 * only move, so the reader's values are exactly the file's.
 */
export function packWeightBlocks(dtype: BlockDType, blocks: Uint8Array): Uint8Array {
  const file = GGML_BLOCK[BLOCK_GGML_TYPE[dtype]].bytes;
  const { blockBytes: gpu, scaleLast } = FORMATS[dtype];
  if (blocks.byteLength % file) throw new Error(`${dtype}: ${blocks.byteLength} bytes are not a whole number of ${file}-byte blocks`);
  if (gpu === file && !scaleLast) return blocks;
  const n = blocks.byteLength / file;
  const out = new Uint8Array(n * gpu);
  for (let i = 0; i < n; i++) {
    const block = blocks.subarray(i * file, (i + 1) * file);
    if (scaleLast) {
      out.set(block.subarray(F16_SCALE_BYTES), i * gpu);
      out.set(block.subarray(0, F16_SCALE_BYTES), i * gpu + file - F16_SCALE_BYTES);
    } else {
      out.set(block, i * gpu);
    }
  }
  return out;
}
