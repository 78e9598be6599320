import { describe, expect, it } from 'vitest';
import { rng } from '../../../test/numeric';
import { collectChunks, encodeGgufHeader, ggufChunks, kv, readGguf } from './gguf-format';
import { dequantize, quantize } from './quant';
import { memorySource } from './safetensors';

describe('GGUF container', () => {
  it('writes a tensor past one slice (2^22 values) in several chunks of whole rows, whose bytes are the whole tensor quantized at once', async () => {
    const rows = 4100, cols = 1024; // 4096 rows a slice: two slices
    const r = rng(5);
    const x = Float32Array.from({ length: rows * cols }, () => r() * 2 - 1);
    const chunks: Uint8Array[] = [];
    for await (const c of ggufChunks([], [{ name: 'big', shape: [rows, cols], type: 'Q8_0' }], () => x)) chunks.push(c);
    const whole = quantize('Q8_0', x, cols);
    const rowBytes = whole.byteLength / rows;
    // The header, then 4096 rows, then 4 rows (a multiple of 32 bytes: no padding chunk).
    expect(chunks.slice(1).map((c) => c.byteLength)).toEqual([4096 * rowBytes, 4 * rowBytes]);
    const g = await readGguf(memorySource(await collectChunks((async function* () { yield* chunks; })()), 'big.gguf'));
    expect(Buffer.from(await g.readRaw('big')).equals(Buffer.from(whole))).toBe(true);
  });

  it('round-trips every KV type, arrays, F32/F16 tensors with dims innermost first and 32-byte alignment', async () => {
    const kvs = [
      kv.str('general.architecture', 'llama'),
      kv.u32('general.alignment', 32),
      { key: 'a.u8', type: 'u8' as const, value: 255 },
      { key: 'a.i8', type: 'i8' as const, value: -128 },
      { key: 'a.u16', type: 'u16' as const, value: 65535 },
      { key: 'a.i16', type: 'i16' as const, value: -32768 },
      kv.i32('a.i32', -5),
      kv.f32('a.f32', 1.5),
      kv.bool('a.bool', true),
      { key: 'a.u64', type: 'u64' as const, value: 2n ** 60n },
      { key: 'a.i64', type: 'i64' as const, value: -7 },
      { key: 'a.f64', type: 'f64' as const, value: Math.PI },
      kv.arr('a.strs', 'string', ['x', 'ünï', '']),
      kv.arr('a.ints', 'i32', [1, -2, 3]),
    ];
    const t1 = Float32Array.from({ length: 15 }, (_, i) => i - 7);
    const t2 = new Float32Array([0.5, -1.25, 3]);
    const specs = [
      { name: 'w', shape: [3, 5], type: 'F32' as const },
      { name: 'h', shape: [3], type: 'F16' as const },
    ];
    const bytes = await collectChunks(ggufChunks(kvs, specs, (s) => (s.name === 'w' ? t1 : t2)));
    const g = await readGguf(memorySource(bytes, 'x.gguf'));
    expect(g.version).toBe(3);
    for (const e of kvs) expect(g.get(e.key)).toEqual(e.key === 'a.u64' ? 2n ** 60n : e.value);
    expect(g.tensors.map((t) => [t.name, t.ne, t.type])).toEqual([['w', [5, 3], 0], ['h', [3], 1]]);
    expect(g.dataStart % 32).toBe(0);
    for (const t of g.tensors) expect(t.offset % 32).toBe(0);
    expect(Array.from(await g.readF32('w'))).toEqual(Array.from(t1));
    expect(Array.from(await g.readF32('h'))).toEqual([0.5, -1.25, 3]);
  });

  it('writes and reads quantized tensors: Q8_0/Q4_0/Q6_K quantized from floats, Q4_K blocks as given', async () => {
    const r = rng(3);
    const x = Float32Array.from({ length: 2 * 256 }, () => r() - 0.5);
    const q4k = quantize('Q4_K', x, 256);
    const specs = [
      { name: 'a', shape: [2, 256], type: 'Q8_0' as const },
      { name: 'b', shape: [4, 128], type: 'Q4_0' as const },
      { name: 'c', shape: [2, 256], type: 'Q4_K' as const },
      { name: 'd', shape: [3], type: 'BF16' as const },
      { name: 'e', shape: [2, 256], type: 'Q6_K' as const },
    ];
    const d = new Float32Array([1, -2.5, 3.25]);
    const bytes = await collectChunks(ggufChunks([], specs, (s) => (s.name === 'c' ? q4k : s.name === 'd' ? d : x)));
    const g = await readGguf(memorySource(bytes, 'q.gguf'));
    expect(g.tensors.map((t) => [t.name, t.type, t.typeName, t.byteSize])).toEqual([['a', 8, 'Q8_0', 16 * 34], ['b', 2, 'Q4_0', 16 * 18], ['c', 12, 'Q4_K', 2 * 144], ['d', 30, 'BF16', 6], ['e', 14, 'Q6_K', 2 * 210]]);
    expect(Array.from(await g.readRaw('c'))).toEqual(Array.from(q4k));
    expect(Array.from(await g.readF32('c'))).toEqual(Array.from(dequantize('Q4_K', q4k)));
    expect(Array.from(await g.readF32('d'))).toEqual([1, -2.5, 3.25]);
    expect(Array.from(await g.readRaw('e'))).toEqual(Array.from(quantize('Q6_K', x, 256)));
    for (const [name, tol] of [['a', 0.5 / 127], ['b', 0.5 / 8]] as const) {
      const y = await g.readF32(name);
      for (let i = 0; i < x.length; i++) expect(Math.abs(y[i] - x[i])).toBeLessThanOrEqual(tol * 1.01);
    }
    expect(() => encodeGgufHeader([], [{ name: 'w', shape: [2, 40], type: 'Q8_0' }])).toThrow(/tensor "w" \[2, 40\]: Q8_0: a row of 40 values is not a whole number of 32-value blocks/);
    await expect(collectChunks(ggufChunks([], [{ name: 'w', shape: [32], type: 'Q8_0' }], () => new Uint8Array(33)))).rejects.toThrow(/tensor "w" has 33 bytes, Q8_0 \[32\] needs 34/);
  });

  it('rejects bad input clearly', async () => {
    expect(() => encodeGgufHeader([kv.u32('a', 1), kv.u32('a', 2)], [])).toThrow(/duplicate key "a"/);
    expect(() => encodeGgufHeader([kv.u32('a', -1)], [])).toThrow(/"a" value -1 does not fit u32/);
    await expect(readGguf(memorySource(new Uint8Array(16), 'z.gguf'))).rejects.toThrow(/z.gguf: not a GGUF file/);
    const good = await collectChunks(ggufChunks([kv.arr('t', 'string', ['a', 'b'])], [], () => new Float32Array()));
    await expect(readGguf(memorySource(good.subarray(0, 30), 'cut.gguf'))).rejects.toThrow(/cut.gguf: truncated/);
  });
});
