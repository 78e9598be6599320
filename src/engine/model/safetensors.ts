// safetensors: header parsing with full validation, a streaming reader over a random-access
// byte source (one tensor in memory at a time), sharded models, and a writer.
// Format: 8-byte LE u64 header length N, N bytes of JSON, then the tensor data.
import { type Dtype, DTYPE_BYTES, bytesToFloat32, float32ToBytes, isDtype } from './dtype';

/** Random access to the bytes of a file: a Node file handle, a browser Blob/File, memory. */
export interface ByteSource {
  /** File name used in error messages. */
  readonly name: string;
  readonly size: number;
  /** Resolves to exactly `length` bytes at `offset`, or rejects. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Chunks joined into one array (the chunk itself when there is one). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/** A ByteSource over bytes already in memory (tests, small files). */
export function memorySource(bytes: Uint8Array, name = 'memory'): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    read: async (offset, length) => {
      if (offset < 0 || length < 0 || offset + length > bytes.byteLength) {
        throw new Error(`${name}: read of ${length} bytes at ${offset} is past the end (${bytes.byteLength} bytes)`);
      }
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A ByteSource over a browser Blob or File: reads slices, never the whole file. */
export function blobSource(blob: Blob, name = (blob as File).name ?? 'blob'): ByteSource {
  return {
    name,
    size: blob.size,
    read: async (offset, length) => {
      if (offset < 0 || length < 0 || offset + length > blob.size) {
        throw new Error(`${name}: read of ${length} bytes at ${offset} is past the end (${blob.size} bytes)`);
      }
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** Readers refuse headers larger than this (the limit of the reference implementation). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Byte offsets relative to the start of the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  fileName: string;
  /** Bytes of JSON (N). */
  headerBytes: number;
  /** Absolute offset of the data section: 8 + N. */
  dataStart: number;
  metadata: Record<string, string>;
  /** Tensors in data order. */
  tensors: TensorInfo[];
}

export interface Tensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Raw little-endian bytes. */
  data: Uint8Array;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Validates a parsed header object against the file size. Throws SafetensorsError naming the
 * file and the tensor for: non-object JSON, bad __metadata__, unknown dtype, bad shape,
 * bad offsets, size ≠ dtype × shape, overlaps, gaps and data not covered exactly.
 */
export function validateHeader(json: unknown, fileName: string, headerBytes: number, fileSize: number): SafetensorsHeader {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${fileName}: ${msg}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('header is not a JSON object');
  const dataStart = 8 + headerBytes;
  const dataSize = fileSize - dataStart;
  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__["${k}"] is not a string`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const where = `tensor "${name}"`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(`${where}: entry is not an object`);
    const e = entry as Record<string, unknown>;
    if (!isDtype(e.dtype)) fail(`${where}: unknown dtype ${JSON.stringify(e.dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    const dtype = e.dtype as Dtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`${where}: shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`);
    }
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      fail(`${where}: data_offsets ${JSON.stringify(off)} is not [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = off as [number, number];
    if (end > dataSize) fail(`${where}: data_offsets [${begin}, ${end}] out of range (data section is ${Math.max(0, dataSize)} bytes)`);
    const expected = numel(shape) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      fail(`${where}: ${end - begin} bytes but ${dtype} × [${shape.join(', ')}] needs ${expected}`);
    }
    tensors.push({ name, dtype, shape, begin, end });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const t of tensors) {
    if (t.begin < pos) fail(`tensor "${t.name}": data_offsets [${t.begin}, ${t.end}] overlap the previous tensor (ends at ${pos})`);
    if (t.begin > pos) fail(`tensor "${t.name}": gap of ${t.begin - pos} bytes before it (previous data ends at ${pos})`);
    pos = t.end;
  }
  if (pos !== dataSize) fail(`tensor data covers ${pos} bytes but the data section is ${dataSize} bytes`);
  return { fileName, headerBytes, dataStart, metadata, tensors };
}

/** Reads and validates the header of a safetensors source (reads 8 + N bytes, nothing else). */
export async function readSafetensorsHeader(source: ByteSource): Promise<SafetensorsHeader> {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${source.name}: ${msg}`);
  };
  if (source.size < 8) fail(`file is ${source.size} bytes, too short for a safetensors header`);
  const lenBytes = await source.read(0, 8);
  const view = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`);
  const headerBytes = Number(n);
  if (8 + headerBytes > source.size) fail(`header length ${headerBytes} runs past the end of the file (${source.size} bytes)`);
  const raw = await source.read(8, headerBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return fail('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  return validateHeader(json, source.name, headerBytes, source.size);
}

/** What uploading a model's weights needs: names, shapes and float values (safetensors, GGUF). */
export interface FloatTensorSource {
  names(): string[];
  info(name: string): { shape: number[] };
  /** Tensor values as float32 (dequantized where the file is quantized). */
  readF32(name: string): Promise<Float32Array>;
}

/** Read access to named tensors, from one file or several shards. */
export interface TensorStore extends FloatTensorSource {
  /** Tensor names in storage order. */
  names(): string[];
  info(name: string): TensorInfo;
  has(name: string): boolean;
  /** Raw tensor bytes. */
  read(name: string): Promise<Tensor>;
  /** Tensor values as float32 (F32/F16/BF16/F64 files). */
  readF32(name: string): Promise<Float32Array>;
  /** Yields tensors one by one in storage order, so only one is in memory at a time. */
  tensors(): AsyncGenerator<Tensor>;
  /** The `__metadata__` of the (first) file. */
  metadata: Record<string, string>;
}

/** A single safetensors file over a ByteSource. */
export class SafetensorsFile implements TensorStore {
  private readonly byName: Map<string, TensorInfo>;

  private constructor(
    readonly source: ByteSource,
    readonly header: SafetensorsHeader,
  ) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  static async open(source: ByteSource): Promise<SafetensorsFile> {
    return new SafetensorsFile(source, await readSafetensorsHeader(source));
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new SafetensorsError(`${this.source.name}: no tensor named "${name}"`);
    return t;
  }

  async read(name: string): Promise<Tensor> {
    const t = this.info(name);
    const data = await this.source.read(this.header.dataStart + t.begin, t.end - t.begin);
    if (data.byteLength !== t.end - t.begin) {
      throw new SafetensorsError(`${this.source.name}: tensor "${name}": read ${data.byteLength} of ${t.end - t.begin} bytes`);
    }
    return { name, dtype: t.dtype, shape: t.shape.slice(), data };
  }

  async readF32(name: string): Promise<Float32Array> {
    const t = await this.read(name);
    try {
      return bytesToFloat32(t.dtype, t.data);
    } catch (e) {
      throw new SafetensorsError(`${this.source.name}: tensor "${name}": ${(e as Error).message}`);
    }
  }

  async *tensors(): AsyncGenerator<Tensor> {
    for (const t of this.header.tensors) yield await this.read(t.name);
  }
}

/**
 * A sharded model: `model.safetensors.index.json` ({"weight_map": {tensor: file}}) plus one
 * ByteSource per shard, opened on demand through `openShard`. Every mapped tensor must be in
 * its shard and every shard tensor must be mapped.
 */
export class ShardedSafetensors implements TensorStore {
  private constructor(
    private readonly shards: Map<string, SafetensorsFile>,
    private readonly weightMap: Map<string, string>,
    private readonly order: string[],
  ) {}

  static async open(indexJson: string | unknown, openShard: (file: string) => Promise<ByteSource>, indexName = 'model.safetensors.index.json'): Promise<ShardedSafetensors> {
    let index: unknown = indexJson;
    if (typeof indexJson === 'string') {
      try {
        index = JSON.parse(indexJson);
      } catch (e) {
        throw new SafetensorsError(`${indexName}: not valid JSON (${(e as Error).message})`);
      }
    }
    const wm = (index as { weight_map?: unknown } | null)?.weight_map;
    if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new SafetensorsError(`${indexName}: no "weight_map" object`);
    const weightMap = new Map<string, string>();
    for (const [tensor, file] of Object.entries(wm as Record<string, unknown>)) {
      if (typeof file !== 'string' || file.includes('/') || file.includes('\\') || file === '..') {
        throw new SafetensorsError(`${indexName}: weight_map["${tensor}"] is not a plain file name`);
      }
      weightMap.set(tensor, file);
    }
    const shards = new Map<string, SafetensorsFile>();
    const order: string[] = [];
    for (const file of [...new Set(weightMap.values())].sort()) {
      const shard = await SafetensorsFile.open(await openShard(file));
      shards.set(file, shard);
      for (const name of shard.names()) {
        const mapped = weightMap.get(name);
        if (mapped !== file) throw new SafetensorsError(`${indexName}: tensor "${name}" is in ${file} but the weight_map ${mapped ? `says ${mapped}` : 'does not list it'}`);
        order.push(name);
      }
    }
    for (const [tensor, file] of weightMap) {
      if (!shards.get(file)!.has(tensor)) throw new SafetensorsError(`${indexName}: weight_map puts "${tensor}" in ${file}, which does not contain it`);
    }
    return new ShardedSafetensors(shards, weightMap, order);
  }

  get metadata(): Record<string, string> {
    return this.shards.values().next().value?.metadata ?? {};
  }

  names(): string[] {
    return this.order.slice();
  }

  has(name: string): boolean {
    return this.weightMap.has(name);
  }

  private shard(name: string): SafetensorsFile {
    const file = this.weightMap.get(name);
    if (!file) throw new SafetensorsError(`sharded model: no tensor named "${name}"`);
    return this.shards.get(file)!;
  }

  info(name: string): TensorInfo {
    return this.shard(name).info(name);
  }

  read(name: string): Promise<Tensor> {
    return this.shard(name).read(name);
  }

  readF32(name: string): Promise<Float32Array> {
    return this.shard(name).readF32(name);
  }

  async *tensors(): AsyncGenerator<Tensor> {
    for (const name of this.order) yield await this.read(name);
  }
}

// ---- writer ----

export interface TensorSpec {
  name: string;
  dtype: Dtype;
  shape: number[];
}

export interface TensorToWrite extends TensorSpec {
  /** Raw little-endian bytes, or float values (converted to `dtype`, which must be a float dtype). */
  data: Uint8Array | Float32Array;
}

/**
 * The header bytes (8-byte length + JSON padded with spaces to a multiple of 8) for tensors
 * laid out contiguously in the given order.
 */
export function encodeSafetensorsHeader(specs: readonly TensorSpec[], metadata?: Record<string, string>): Uint8Array {
  const json: Record<string, unknown> = {};
  if (metadata) json.__metadata__ = metadata;
  let pos = 0;
  for (const s of specs) {
    if (s.name === '__metadata__' || s.name in json) throw new SafetensorsError(`safetensors writer: duplicate or reserved tensor name "${s.name}"`);
    const size = numel(s.shape) * DTYPE_BYTES[s.dtype];
    json[s.name] = { dtype: s.dtype, shape: s.shape, data_offsets: [pos, pos + size] };
    pos += size;
  }
  const text = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil(text.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(text, 8);
  return out;
}

function tensorBytes(t: TensorToWrite): Uint8Array {
  const size = numel(t.shape) * DTYPE_BYTES[t.dtype];
  let bytes: Uint8Array;
  if (t.data instanceof Float32Array) {
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
      throw new SafetensorsError(`safetensors writer: tensor "${t.name}": float data given for dtype ${t.dtype}`);
    }
    bytes = float32ToBytes(t.dtype, t.data);
  } else {
    bytes = t.data;
  }
  if (bytes.byteLength !== size) {
    throw new SafetensorsError(`safetensors writer: tensor "${t.name}": ${bytes.byteLength} bytes but ${t.dtype} × [${t.shape.join(', ')}] needs ${size}`);
  }
  return bytes;
}

/** Serializes tensors (and optional __metadata__) into one safetensors file in memory. */
export function serializeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const header = encodeSafetensorsHeader(tensors, metadata);
  const parts = tensors.map(tensorBytes);
  const total = header.byteLength + parts.reduce((s, p) => s + p.byteLength, 0);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let pos = header.byteLength;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

/**
 * Streams a safetensors file: the header first, then each tensor's bytes as `produce(spec)`
 * returns them, so a large model is written one tensor at a time.
 */
export async function* safetensorsChunks(
  specs: readonly TensorSpec[],
  produce: (spec: TensorSpec) => Promise<Uint8Array | Float32Array>,
  metadata?: Record<string, string>,
): AsyncGenerator<Uint8Array> {
  yield encodeSafetensorsHeader(specs, metadata);
  for (const s of specs) yield tensorBytes({ ...s, data: await produce(s) });
}
