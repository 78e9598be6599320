// GGUF v3 container: typed key/value metadata, tensor infos (dims innermost first), aligned
// data. A streaming writer (header, then one tensor at a time) and a reader that reads one
// tensor at a time from a random-access source. Tensor types and block layouts: quant.ts.
// Spec: ggml-org/ggml docs/gguf.md. All integers little-endian.
import type { ByteSource } from './safetensors';
import { type GgmlType, GGML_TYPES, dequantize, describeGgmlType, ggmlRowBytes, ggmlTypeName, quantize } from './quant';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as LE u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

const VALUE_TYPES = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;
export type GgufScalarType = Exclude<keyof typeof VALUE_TYPES, 'array'>;
const TYPE_BY_CODE = new Map(Object.entries(VALUE_TYPES).map(([k, v]) => [v, k as keyof typeof VALUE_TYPES]));

export type GgufScalar = number | bigint | boolean | string;
export type GgufKv =
  | { key: string; type: GgufScalarType; value: GgufScalar }
  | { key: string; type: 'array'; itemType: GgufScalarType; value: GgufScalar[] };

/** Builders for typed KV entries. */
export const kv = {
  u32: (key: string, value: number): GgufKv => ({ key, type: 'u32', value }),
  i32: (key: string, value: number): GgufKv => ({ key, type: 'i32', value }),
  f32: (key: string, value: number): GgufKv => ({ key, type: 'f32', value }),
  bool: (key: string, value: boolean): GgufKv => ({ key, type: 'bool', value }),
  str: (key: string, value: string): GgufKv => ({ key, type: 'string', value }),
  arr: (key: string, itemType: GgufScalarType, value: GgufScalar[]): GgufKv => ({ key, type: 'array', itemType, value }),
};

export interface GgufTensorSpec {
  name: string;
  /** Torch order, outermost first ([out, in] for a linear); written reversed as ne. */
  shape: number[];
  type: GgmlType;
}

export class GgufError extends Error {
  override name = 'GgufError';
}

/** Little-endian byte writer that grows as needed. */
class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  pos = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.byteLength) return;
    let cap = this.buf.byteLength * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number) { this.ensure(1); this.view.setUint8(this.pos, v); this.pos += 1; }
  i8(v: number) { this.ensure(1); this.view.setInt8(this.pos, v); this.pos += 1; }
  u16(v: number) { this.ensure(2); this.view.setUint16(this.pos, v, true); this.pos += 2; }
  i16(v: number) { this.ensure(2); this.view.setInt16(this.pos, v, true); this.pos += 2; }
  u32(v: number) { this.ensure(4); this.view.setUint32(this.pos, v, true); this.pos += 4; }
  i32(v: number) { this.ensure(4); this.view.setInt32(this.pos, v, true); this.pos += 4; }
  f32(v: number) { this.ensure(4); this.view.setFloat32(this.pos, v, true); this.pos += 4; }
  f64(v: number) { this.ensure(8); this.view.setFloat64(this.pos, v, true); this.pos += 8; }
  u64(v: number | bigint) { this.ensure(8); this.view.setBigUint64(this.pos, BigInt(v), true); this.pos += 8; }
  i64(v: number | bigint) { this.ensure(8); this.view.setBigInt64(this.pos, BigInt(v), true); this.pos += 8; }
  bytes(b: Uint8Array) { this.ensure(b.byteLength); this.buf.set(b, this.pos); this.pos += b.byteLength; }
  str(s: string) { const b = new TextEncoder().encode(s); this.u64(b.byteLength); this.bytes(b); }
  padTo(align: number) { while (this.pos % align) this.u8(0); }
  result(): Uint8Array { return this.buf.slice(0, this.pos); }
}

function writeScalar(w: ByteWriter, type: GgufScalarType, v: GgufScalar, key: string): void {
  const num = (): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new GgufError(`GGUF writer: "${key}" needs a finite number, got ${String(v)}`);
    return v;
  };
  const int = (lo: number, hi: number): number => {
    const n = num();
    if (!Number.isInteger(n) || n < lo || n > hi) throw new GgufError(`GGUF writer: "${key}" value ${n} does not fit ${type}`);
    return n;
  };
  switch (type) {
    case 'u8': return w.u8(int(0, 0xff));
    case 'i8': return w.i8(int(-0x80, 0x7f));
    case 'u16': return w.u16(int(0, 0xffff));
    case 'i16': return w.i16(int(-0x8000, 0x7fff));
    case 'u32': return w.u32(int(0, 0xffffffff));
    case 'i32': return w.i32(int(-0x80000000, 0x7fffffff));
    case 'f32': return w.f32(num());
    case 'f64': return w.f64(num());
    case 'u64': return w.u64(typeof v === 'bigint' ? v : int(0, Number.MAX_SAFE_INTEGER));
    case 'i64': return w.i64(typeof v === 'bigint' ? v : int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
    case 'bool':
      if (typeof v !== 'boolean') throw new GgufError(`GGUF writer: "${key}" needs a boolean`);
      return w.u8(v ? 1 : 0);
    case 'string':
      if (typeof v !== 'string') throw new GgufError(`GGUF writer: "${key}" needs a string`);
      return w.str(v);
  }
}

/** Bytes of a tensor's data: whole blocks along each row (ne0, the last torch dim). */
export function tensorByteSize(t: { name: string; shape: readonly number[]; type: GgmlType }): number {
  const row = t.shape.length ? t.shape[t.shape.length - 1] : 1;
  const rows = t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  try {
    return ggmlRowBytes(t.type, row) * rows;
  } catch (e) {
    throw new GgufError(`tensor "${t.name}" [${t.shape.join(', ')}]: ${(e as Error).message}`, { cause: e });
  }
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Reads `general.alignment` from the KV list (default 32). */
function alignmentOf(kvs: readonly GgufKv[]): number {
  const a = kvs.find((e) => e.key === 'general.alignment');
  if (!a) return GGUF_DEFAULT_ALIGNMENT;
  if (a.type !== 'u32' || typeof a.value !== 'number' || a.value <= 0 || a.value % 8 !== 0) throw new GgufError('GGUF writer: general.alignment must be a u32 multiple of 8');
  return a.value;
}

/** Header: magic, version, counts, KVs, tensor infos (offsets laid out in order), padding. */
export function encodeGgufHeader(kvs: readonly GgufKv[], tensors: readonly GgufTensorSpec[]): Uint8Array {
  const align = alignmentOf(kvs);
  const seen = new Set<string>();
  for (const e of kvs) {
    if (seen.has(e.key)) throw new GgufError(`GGUF writer: duplicate key "${e.key}"`);
    seen.add(e.key);
  }
  const names = new Set<string>();
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(kvs.length);
  for (const e of kvs) {
    w.str(e.key);
    w.u32(VALUE_TYPES[e.type]);
    if (e.type === 'array') {
      w.u32(VALUE_TYPES[e.itemType]);
      w.u64(e.value.length);
      for (const v of e.value) writeScalar(w, e.itemType, v, e.key);
    } else {
      writeScalar(w, e.type, e.value, e.key);
    }
  }
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new GgufError(`GGUF writer: duplicate tensor "${t.name}"`);
    names.add(t.name);
    if (new TextEncoder().encode(t.name).byteLength > 63) throw new GgufError(`GGUF writer: tensor name "${t.name}" is over 63 bytes`);
    w.str(t.name);
    w.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) w.u64(t.shape[d]); // ne: innermost first
    w.u32(GGML_TYPES[t.type]);
    w.u64(offset);
    offset = alignUp(offset + tensorByteSize(t), align);
  }
  w.padTo(align);
  return w.result();
}

// Float values are encoded in slices of whole rows of about this many values, each its own
// chunk, so a consumer reports progress and can cancel inside one large tensor (a 0.6B model's
// tied embedding is ~156M values: tens of seconds of Q6_K quantization in one piece).
const SLICE_VALUES = 1 << 22;

/**
 * A tensor's bytes, padded, as chunks: float values are encoded (F32/F16/BF16) or quantized with
 * ggml's reference quantizer (Q8_0, Q4_0, Q4_K, Q6_K) a slice of rows at a time (rows quantize
 * independently, so the slices' bytes are the whole tensor's); raw bytes (blocks already made)
 * are written as given.
 */
function* encodeTensorData(t: GgufTensorSpec, data: Float32Array | Uint8Array, align: number): Generator<Uint8Array> {
  const size = tensorByteSize(t);
  if (data instanceof Uint8Array) {
    if (data.byteLength !== size) throw new GgufError(`GGUF writer: tensor "${t.name}" has ${data.byteLength} bytes, ${t.type} [${t.shape.join(', ')}] needs ${size}`);
    const out = new Uint8Array(alignUp(size, align));
    out.set(data);
    yield out;
    return;
  }
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new GgufError(`GGUF writer: tensor "${t.name}" has ${data.length} values, shape [${t.shape.join(', ')}] needs ${n}`);
  const rowLength = t.shape.length ? t.shape[t.shape.length - 1] : 1;
  const sliceValues = Math.max(1, Math.floor(SLICE_VALUES / rowLength)) * rowLength;
  for (let i = 0; i < n; i += sliceValues) yield quantize(t.type, data.subarray(i, Math.min(n, i + sliceValues)), rowLength);
  const pad = alignUp(size, align) - size;
  if (pad > 0) yield new Uint8Array(pad);
}

/** Streams a GGUF file: the header, then each tensor's data (padded) as `produce` returns it, large tensors in several chunks. */
export async function* ggufChunks(
  kvs: readonly GgufKv[],
  tensors: readonly GgufTensorSpec[],
  produce: (t: GgufTensorSpec) => Promise<Float32Array | Uint8Array> | Float32Array | Uint8Array,
): AsyncGenerator<Uint8Array> {
  const align = alignmentOf(kvs);
  yield encodeGgufHeader(kvs, tensors);
  for (const t of tensors) yield* encodeTensorData(t, await produce(t), align);
}

/** Concatenates a stream of chunks (for small files and tests). */
export async function collectChunks(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const c of chunks) {
    parts.push(c);
    total += c.byteLength;
  }
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

// ---- reader ----

export interface GgufTensorInfo {
  name: string;
  /** Dims as stored, innermost first. */
  ne: number[];
  /** Torch order (reversed ne). */
  shape: number[];
  /** ggml type code as stored. */
  type: number;
  /** Its name, or null for a type the studio does not support. */
  typeName: GgmlType | null;
  /** Bytes of data (null when the type is unsupported). */
  byteSize: number | null;
  /** Offset relative to the data section. */
  offset: number;
}

export interface GgufFile {
  version: number;
  kv: Map<string, GgufKv>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute offset of the data section. */
  dataStart: number;
  /** A tensor's raw bytes as stored (blocks for quantized types). */
  readRaw(name: string): Promise<Uint8Array>;
  /** A tensor as Float32Array (torch order, row-major), dequantized as ggml does. */
  readF32(name: string): Promise<Float32Array>;
  /** The value of a key, or undefined. */
  get(key: string): GgufScalar | GgufScalar[] | undefined;
}

class NeedMore extends Error {}

class ByteReader {
  private view: DataView;
  pos = 0;
  constructor(private readonly buf: Uint8Array, private readonly isWholeFile: boolean, private readonly fileName: string) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number) {
    if (this.pos + n > this.buf.byteLength) {
      if (this.isWholeFile) throw new GgufError(`${this.fileName}: truncated at byte ${this.pos} (needs ${n} more bytes)`);
      throw new NeedMore();
    }
  }
  u8() { this.need(1); return this.view.getUint8(this.pos++); }
  i8() { this.need(1); return this.view.getInt8(this.pos++); }
  u16() { this.need(2); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  i16() { this.need(2); const v = this.view.getInt16(this.pos, true); this.pos += 2; return v; }
  u32() { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  i32() { this.need(4); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }
  f32() { this.need(4); const v = this.view.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64() { this.need(8); const v = this.view.getFloat64(this.pos, true); this.pos += 8; return v; }
  u64big() { this.need(8); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return v; }
  i64big() { this.need(8); const v = this.view.getBigInt64(this.pos, true); this.pos += 8; return v; }
  /** u64 that must fit a safe JS number (counts, sizes). */
  count(what: string, max: number) {
    const v = this.u64big();
    if (v > BigInt(max)) throw new GgufError(`${this.fileName}: ${what} ${v} is implausibly large`);
    return Number(v);
  }
  str(maxLen: number) {
    const n = this.count('string length', maxLen);
    this.need(n);
    const s = new TextDecoder().decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}

/** The shortest decimal that rounds to this f32 (1e-5 for an epsilon written as f32, not 9.99999974e-6). */
function shortestF32(x: number): number {
  for (let p = 1; p < 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

function readScalar(r: ByteReader, type: GgufScalarType, fileSize: number): GgufScalar {
  switch (type) {
    case 'u8': return r.u8();
    case 'i8': return r.i8();
    case 'u16': return r.u16();
    case 'i16': return r.i16();
    case 'u32': return r.u32();
    case 'i32': return r.i32();
    case 'f32': return shortestF32(r.f32());
    case 'f64': return r.f64();
    case 'bool': return r.u8() !== 0;
    case 'string': return r.str(fileSize);
    case 'u64': { const v = r.u64big(); return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; }
    case 'i64': { const v = r.i64big(); return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v; }
  }
}

function parseHeader(buf: Uint8Array, isWholeFile: boolean, name: string, fileSize: number) {
  const r = new ByteReader(buf, isWholeFile, name);
  if (r.u32() !== GGUF_MAGIC) throw new GgufError(`${name}: not a GGUF file (bad magic)`);
  const version = r.u32();
  if (version !== 2 && version !== 3) throw new GgufError(`${name}: GGUF version ${version} is not supported (supported: 2, 3)`);
  const nTensors = r.count('tensor count', fileSize);
  const nKv = r.count('KV count', fileSize);
  const kvMap = new Map<string, GgufKv>();
  for (let i = 0; i < nKv; i++) {
    const key = r.str(65535);
    const code = r.u32();
    const type = TYPE_BY_CODE.get(code as never);
    if (!type) throw new GgufError(`${name}: key "${key}" has unknown value type ${code}`);
    if (type === 'array') {
      const itemCode = r.u32();
      const itemType = TYPE_BY_CODE.get(itemCode as never);
      if (!itemType || itemType === 'array') throw new GgufError(`${name}: key "${key}" has unsupported array item type ${itemCode}`);
      const n = r.count('array length', fileSize);
      const value: GgufScalar[] = new Array(n);
      for (let j = 0; j < n; j++) value[j] = readScalar(r, itemType, fileSize);
      kvMap.set(key, { key, type: 'array', itemType, value });
    } else {
      kvMap.set(key, { key, type, value: readScalar(r, type, fileSize) });
    }
  }
  const alignKv = kvMap.get('general.alignment');
  const alignment = alignKv && typeof alignKv.value === 'number' ? alignKv.value : GGUF_DEFAULT_ALIGNMENT;
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    const tname = r.str(65535);
    const nd = r.u32();
    if (nd > 4) throw new GgufError(`${name}: tensor "${tname}" has ${nd} dims (max 4)`);
    const ne: number[] = [];
    for (let d = 0; d < nd; d++) ne.push(r.count(`dim of "${tname}"`, fileSize));
    const type = r.u32();
    const offset = r.count(`offset of "${tname}"`, fileSize);
    if (offset % alignment) throw new GgufError(`${name}: tensor "${tname}" offset ${offset} is not aligned to ${alignment}`);
    const shape = ne.slice().reverse();
    const typeName = ggmlTypeName(type);
    let byteSize: number | null;
    try {
      byteSize = typeName && tensorByteSize({ name: tname, shape, type: typeName });
    } catch (e) {
      throw new GgufError(`${name}: ${(e as Error).message}`, { cause: e });
    }
    tensors.push({ name: tname, ne, shape, type, typeName, byteSize, offset });
  }
  const dataStart = alignUp(r.pos, alignment);
  return { version, kvMap, alignment, tensors, dataStart };
}

/** Parses a GGUF file's header from a ByteSource, reading only as much as the header needs. */
export async function readGguf(source: ByteSource): Promise<GgufFile> {
  let len = Math.min(source.size, 1 << 20);
  let parsed: ReturnType<typeof parseHeader>;
  for (;;) {
    const buf = await source.read(0, len);
    try {
      parsed = parseHeader(buf, len === source.size, source.name, source.size);
      break;
    } catch (e) {
      if (!(e instanceof NeedMore)) throw e;
      len = Math.min(source.size, len * 4);
    }
  }
  const { version, kvMap, alignment, tensors, dataStart } = parsed;
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const t of tensors) {
    if (t.byteSize !== null && dataStart + t.offset + t.byteSize > source.size) {
      throw new GgufError(`${source.name}: tensor "${t.name}" runs past the end of the file`);
    }
  }
  const readRaw = async (tname: string): Promise<Uint8Array> => {
    const t = byName.get(tname);
    if (!t) throw new GgufError(`${source.name}: no tensor named "${tname}"`);
    if (t.byteSize === null) throw new GgufError(`${source.name}: tensor "${tname}" is ${describeGgmlType(t.type)}, which is not supported (supported: ${Object.keys(GGML_TYPES).join(', ')})`);
    return source.read(dataStart + t.offset, t.byteSize);
  };
  return {
    version,
    kv: kvMap,
    tensors,
    alignment,
    dataStart,
    get: (key) => kvMap.get(key)?.value,
    readRaw,
    readF32: async (tname) => {
      const raw = await readRaw(tname); // names the tensor when it is missing or of an unsupported type
      return dequantize(byName.get(tname)!.typeName!, raw);
    },
  };
}
