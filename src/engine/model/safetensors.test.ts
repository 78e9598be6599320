import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '../../../test/numeric';
import { openFileSource } from './node-source';
import {
  type ByteSource,
  SafetensorsFile,
  ShardedSafetensors,
  blobSource,
  encodeSafetensorsHeader,
  memorySource,
  readSafetensorsHeader,
  safetensorsChunks,
  serializeSafetensors,
} from './safetensors';

const enc = new TextEncoder();

/** A file with a hand-written header (JSON text, padded or not) and `dataBytes` zero bytes. */
function rawFile(header: string, dataBytes: number, lengthOverride?: bigint): Uint8Array {
  const h = enc.encode(header);
  const out = new Uint8Array(8 + h.byteLength + dataBytes);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.byteLength), true);
  out.set(h, 8);
  return out;
}

async function headerError(bytes: Uint8Array, name = 'bad.safetensors'): Promise<string> {
  try {
    await readSafetensorsHeader(memorySource(bytes, name));
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the header to be rejected');
}

describe('safetensors writer and reader', () => {
  it('round-trips tensors of several dtypes, shapes (incl. scalar and empty) and metadata', async () => {
    const r = rng(5);
    const f32 = Float32Array.from({ length: 3 * 5 }, () => r() * 2 - 1);
    const i32 = new Int32Array([1, -2, 3, 2147483647]);
    const tensors = [
      { name: 'a.weight', dtype: 'F32' as const, shape: [3, 5], data: f32 },
      { name: 'b', dtype: 'I32' as const, shape: [4], data: new Uint8Array(i32.buffer) },
      { name: 'scalar', dtype: 'F32' as const, shape: [], data: new Float32Array([7.5]) },
      { name: 'empty', dtype: 'F16' as const, shape: [0, 3], data: new Float32Array(0) },
      { name: 'h', dtype: 'F16' as const, shape: [2, 2], data: new Float32Array([0.5, -1, 65504, 1e-7]) },
      { name: 'bf', dtype: 'BF16' as const, shape: [3], data: new Float32Array([1, -2.5, 3.140625]) },
    ];
    const bytes = serializeSafetensors(tensors, { format: 'pt', note: 'x' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0); // header padded to 8
    const file = await SafetensorsFile.open(memorySource(bytes, 'rt.safetensors'));
    expect(file.metadata).toEqual({ format: 'pt', note: 'x' });
    expect(file.names()).toEqual(tensors.map((t) => t.name));
    expect(Array.from(await file.readF32('a.weight'))).toEqual(Array.from(f32)); // F32 exact
    const b = await file.read('b');
    expect(Array.from(new Int32Array(b.data.slice().buffer))).toEqual(Array.from(i32));
    expect(b.shape).toEqual([4]);
    expect(Array.from(await file.readF32('scalar'))).toEqual([7.5]);
    expect((await file.readF32('empty')).length).toBe(0);
    // F16: 1e-7 is below half's smallest subnormal (6e-8) → rounds to 1 subnormal step.
    expect(Array.from(await file.readF32('h'))).toEqual([0.5, -1, 65504, 2 ** -24 * 2]);
    expect(Array.from(await file.readF32('bf'))).toEqual([1, -2.5, 3.140625]);
    // streaming yields the same tensors one by one
    const names: string[] = [];
    for await (const t of file.tensors()) names.push(t.name);
    expect(names).toEqual(tensors.map((t) => t.name));
    // the chunked writer produces identical bytes
    const parts: Uint8Array[] = [];
    const byName = new Map(tensors.map((t) => [t.name, t.data]));
    for await (const c of safetensorsChunks(tensors, async (s) => byName.get(s.name)!, { format: 'pt', note: 'x' })) parts.push(c);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(bytes));
  });

  it('reads through a Blob source and a Node file source without loading the whole file', async () => {
    const data = Float32Array.from({ length: 64 }, (_, i) => i);
    const bytes = serializeSafetensors([
      { name: 'x', dtype: 'F32', shape: [8, 8], data },
      { name: 'y', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
    ]);
    const reads: [number, number][] = [];
    const blob = blobSource(new Blob([bytes as Uint8Array<ArrayBuffer>]), 'm.safetensors');
    const spy: ByteSource = { name: blob.name, size: blob.size, read: (o, l) => (reads.push([o, l]), blob.read(o, l)) };
    const f = await SafetensorsFile.open(spy);
    expect(Array.from(await f.readF32('y'))).toEqual([1, 2]);
    expect(reads.every(([, l]) => l < bytes.byteLength / 2)).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'st-'));
    try {
      await writeFile(join(dir, 'm.safetensors'), bytes);
      const src = await openFileSource(join(dir, 'm.safetensors'));
      const g = await SafetensorsFile.open(src);
      expect(Array.from(await g.readF32('x'))).toEqual(Array.from(data));
      await src.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects duplicate tensor names and wrong data sizes when writing', () => {
    expect(() => encodeSafetensorsHeader([{ name: 'a', dtype: 'F32', shape: [1] }, { name: 'a', dtype: 'F32', shape: [1] }])).toThrow(/duplicate/);
    expect(() => serializeSafetensors([{ name: 'a', dtype: 'F32', shape: [3], data: new Float32Array(2) }])).toThrow(/"a".*8 bytes.*needs 12/);
  });
});

describe('safetensors malformed headers are clear errors naming file and tensor', () => {
  const ok = (extra = '') => `{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}${extra}}`;

  it('accepts the well-formed baseline', async () => {
    const h = await readSafetensorsHeader(memorySource(rawFile(ok(), 8)));
    expect(h.tensors.map((t) => t.name)).toEqual(['t']);
  });

  it.each<[string, () => Uint8Array, RegExp]>([
    ['file shorter than 8 bytes', () => new Uint8Array(5), /too short/],
    ['header length beyond the file', () => rawFile(ok(), 8, 1000n), /header length 1000 runs past the end/],
    ['header length over 100 MB (no huge allocation)', () => rawFile(ok(), 8, 200_000_000n), /over the 100000000-byte limit/],
    ['header length near 2^64', () => rawFile(ok(), 8, 0xfffffffffffffff0n), /over the 100000000-byte limit/],
    ['bad JSON', () => rawFile('{"t": {', 0), /not valid JSON/],
    ['not UTF-8', () => { const b = rawFile('{"t":1}', 0); b[9] = 0xff; return b; }, /not valid UTF-8/],
    ['JSON array', () => rawFile('[1,2]', 0), /not a JSON object/],
    ['unknown dtype', () => rawFile('{"t":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}}', 8), /tensor "t": unknown dtype "F17"/],
    ['negative shape', () => rawFile('{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', 8), /tensor "t": shape/],
    ['size ≠ dtype × shape', () => rawFile('{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8), /tensor "t": 8 bytes but F32 × \[3\] needs 12/],
    ['offsets out of range', () => rawFile('{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', 8), /tensor "t": data_offsets \[0, 16\] out of range/],
    ['begin > end', () => rawFile('{"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}', 8), /tensor "t": data_offsets/],
    ['overlap', () => rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', 12), /tensor "b".*overlap/],
    ['gap', () => rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', 12), /tensor "b": gap of 4 bytes/],
    ['trailing data not covered', () => rawFile(ok(), 12), /covers 8 bytes but the data section is 12/],
    ['__metadata__ with a non-string value', () => rawFile(ok(',"__metadata__":{"format":1}'), 8), /__metadata__\["format"\] is not a string/],
    ['data_offsets missing', () => rawFile('{"t":{"dtype":"F32","shape":[2]}}', 8), /tensor "t": data_offsets/],
  ])('%s', async (_name, make, re) => {
    const msg = await headerError(make(), 'bad.safetensors');
    expect(msg).toMatch(/^bad\.safetensors: /);
    expect(msg).toMatch(re);
  });

  it('never hangs on random garbage (fuzz: always resolves or rejects with a message)', async () => {
    const r = rng(9);
    for (let k = 0; k < 300; k++) {
      const n = 8 + Math.floor(r() * 64);
      const b = new Uint8Array(n).map(() => Math.floor(r() * 256));
      // small random header lengths so JSON parsing is exercised too
      new DataView(b.buffer).setBigUint64(0, BigInt(Math.floor(r() * (n + 4))), true);
      if (k % 3 === 0) b.set(enc.encode('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}').subarray(0, n - 8), 8);
      await readSafetensorsHeader(memorySource(b, 'fuzz')).then(
        () => undefined,
        (e: Error) => expect(e.message).toMatch(/^fuzz: /),
      );
    }
  });
});

describe('sharded safetensors (model.safetensors.index.json)', () => {
  const shard1 = serializeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]);
  const shard2 = serializeSafetensors([
    { name: 'b', dtype: 'F32', shape: [1], data: new Float32Array([3]) },
    { name: 'c', dtype: 'F16', shape: [1], data: new Float32Array([4]) },
  ]);
  const files: Record<string, Uint8Array> = { 'model-00001-of-00002.safetensors': shard1, 'model-00002-of-00002.safetensors': shard2 };
  const open = async (f: string) => {
    if (!files[f]) throw new Error(`no shard ${f}`);
    return memorySource(files[f], f);
  };

  it('reads tensors across shards by name and in order', async () => {
    const index = { metadata: { total_size: 16 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' } };
    const m = await ShardedSafetensors.open(JSON.stringify(index), open);
    expect(m.names()).toEqual(['a', 'b', 'c']);
    expect(Array.from(await m.readF32('c'))).toEqual([4]);
    expect(m.info('a').shape).toEqual([2]);
    const got: string[] = [];
    for await (const t of m.tensors()) got.push(t.name);
    expect(got).toEqual(['a', 'b', 'c']);
  });

  it('rejects an index that disagrees with the shards', async () => {
    await expect(ShardedSafetensors.open('{"weight_map": 3}', open)).rejects.toThrow(/no "weight_map" object/);
    await expect(ShardedSafetensors.open('{', open)).rejects.toThrow(/not valid JSON/);
    await expect(ShardedSafetensors.open(JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }), open)).rejects.toThrow(/"c" is in model-00002-of-00002.safetensors but the weight_map does not list it/);
    await expect(ShardedSafetensors.open(JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', z: 'model-00001-of-00002.safetensors' } }), open)).rejects.toThrow(/puts "z" in model-00001-of-00002.safetensors, which does not contain it/);
    await expect(ShardedSafetensors.open(JSON.stringify({ weight_map: { a: '../etc/passwd' } }), open)).rejects.toThrow(/not a plain file name/);
  });
});
