// Token-embedding lookup launcher; binds the table in row ranges when it exceeds the
// per-binding limit (Qwen2.5's 151936×896 f32 table is ~520 MiB, the default limit 128 MiB).
// The kernel is composed with the reader of the table's format (lib/weights_*.wgsl).
import code from '../../../../shaders/embedding_forward.wgsl?raw';
import { type Binding, type GpuContext, type Recorder, bindingSpan } from '../context';
import { ceilDiv, grid1d } from '../grid';
import { defineParams } from '../params';
import { type WeightDType, weightFormat, weightRowBytes } from './weights';
import { composeShader } from './wgsl';

const PARAMS = defineParams(code, [['BT', 'u32'], ['C', 'u32'], ['rowStart', 'u32'], ['rowCount', 'u32'], ['zeroOutside', 'u32'], ['scale', 'f32']]);

const WG = 256;

export interface RowRange {
  rowStart: number;
  rowCount: number;
  /** Byte offset and size of the range inside the table's buffer. */
  offset: number;
  size: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Splits a [rows, ·] table starting at byte `baseOffset` (a multiple of `align`) into row
 * ranges of at most `maxBindingBytes` each, every range starting on an `align`-byte boundary.
 */
export function planRowRanges(rows: number, rowBytes: number, baseOffset: number, maxBindingBytes: number, align: number): RowRange[] {
  if (baseOffset % align !== 0) throw new Error(`table offset ${baseOffset} is not a multiple of ${align}`);
  const rowQuantum = align / gcd(rowBytes, align); // rows per aligned step
  let perRange = Math.floor(maxBindingBytes / rowBytes);
  if (perRange < rows) perRange -= perRange % rowQuantum;
  if (perRange <= 0) throw new Error(`a row of ${rowBytes} bytes (×${rowQuantum} for alignment) exceeds the binding limit ${maxBindingBytes}`);
  const out: RowRange[] = [];
  for (let rowStart = 0; rowStart < rows; rowStart += perRange) {
    const rowCount = Math.min(perRange, rows - rowStart);
    out.push({ rowStart, rowCount, offset: baseOffset + rowStart * rowBytes, size: Math.ceil((rowCount * rowBytes) / 4) * 4 });
  }
  return out;
}

export interface EmbeddingOptions {
  /** Storage type of the table: 'f16' needs ctx.caps.f16; a block format (packWeightBlocks) needs C whole blocks. Default 'f32'. */
  dtype?: WeightDType;
  /** Override of the per-binding limit (tests force the range split with small tables). */
  maxBindingBytes?: number;
  /** Factor on every looked-up row (Gemma's √hidden_size, rounded to f32); default 1. */
  scale?: number;
}

/**
 * out[BT, C] (f32) = wte[ids[bt], :] · scale for the u32 token ids[BT]; wte is the [V, C] table (a
 * whole buffer or a range starting at a 256-byte-aligned offset). Ids ≥ V give zero rows.
 * The table is bound in row ranges of at most maxStorageBufferBindingSize bytes, one dispatch
 * each (the first also zeroes rows whose id lies outside its range).
 */
export function embeddingForward(
  ctx: GpuContext,
  rec: Recorder,
  out: Binding,
  ids: Binding,
  wte: Binding,
  BT: number,
  C: number,
  V: number,
  opts: EmbeddingOptions = {},
): void {
  const dtype = opts.dtype ?? 'f32';
  const { readers } = weightFormat(ctx, dtype, 'embeddingForward');
  const rowBytes = weightRowBytes(dtype, C, 'embeddingForward table');
  const { buffer, offset: base } = bindingSpan(wte);
  const maxBytes = Math.min(opts.maxBindingBytes ?? Infinity, ctx.caps.maxStorageBufferBindingSize);
  const ranges = planRowRanges(V, rowBytes, base, maxBytes, ctx.caps.minStorageBufferOffsetAlignment);
  const pipeline = ctx.pipeline(composeShader(readers, code), { constants: { WG }, label: `embedding_forward_${dtype}` });
  const groups = grid1d(ceilDiv(BT * C, WG), ctx.caps.maxComputeWorkgroupsPerDimension);
  ranges.forEach((r, k) => {
    const size = Math.min(r.size, buffer.size - r.offset);
    const params = PARAMS.pack({ BT, C, rowStart: r.rowStart, rowCount: r.rowCount, zeroOutside: k === 0 ? 1 : 0, scale: opts.scale ?? 1 });
    // Each range pass writes every output (zeros outside its rows); only BT rows are read.
    rec.dispatch(pipeline, [out, ids, { buffer, offset: r.offset, size }], params, groups, 'embedding_forward', { flops: 0, bytes: BT * 4 + BT * C * 4 + (k === 0 ? BT * rowBytes : 0) });
  });
}
