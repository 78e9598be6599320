// Every kernel's `struct Params` (in shaders/*.wgsl) against its launcher's defineParams
// declaration: same field names, order and types, one declaration per kernel file.
import { describe, expect, it } from 'vitest';
import { declaredParams, defineParams, wgslParamsFields } from './params';

// Load every launcher, so every declaration is registered.
const launchers = import.meta.glob(['./kernels/*.ts', '!./kernels/*.test.ts'], { eager: true });
const kernels = Object.entries(import.meta.glob<string>('../../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true })).map(([path, src]) => ({
  file: path.slice(path.lastIndexOf('/') + 1),
  src,
}));

describe('kernel Params declarations', () => {
  it('found the launchers and the kernels', () => {
    expect(Object.keys(launchers).length).toBeGreaterThan(10);
    expect(kernels.length).toBeGreaterThan(20);
  });

  it('parses a WGSL Params struct, comments and trailing commas included', () => {
    const src = 'struct Params {\n  M: u32, alpha: f32, // scale\n  _pad: u32,\n}\nstruct Other { x: f32 }';
    expect(wgslParamsFields(src)).toEqual([['M', 'u32'], ['alpha', 'f32'], ['_pad', 'u32']]);
    expect(wgslParamsFields('struct Other { x: f32 }')).toBeNull();
  });

  for (const { file, src } of kernels) {
    const fields = wgslParamsFields(src);
    if (!fields) continue;
    it(`${file}: its launcher declares the same fields`, () => {
      const owners = declaredParams().filter((l) => l.kernels.includes(src));
      expect(owners.length, `${file} needs exactly one defineParams declaration`).toBe(1);
      expect(owners[0].fields.map(([n, t]) => [n, t])).toEqual(fields);
    });
  }

  it('every declaration belongs to kernel files', () => {
    const sources = new Set(kernels.map((k) => k.src));
    for (const l of declaredParams()) for (const k of l.kernels) expect(sources.has(k), k.slice(0, 80)).toBe(true);
  });

  it('packs fields in order as u32/i32/f32, padding zero, and rejects a missing or non-u32 value', () => {
    const layout = defineParams('struct Params { n: u32, s: f32, d: i32, _p: u32 }', [['n', 'u32'], ['s', 'f32'], ['d', 'i32'], ['_p', 'u32']]);
    const bytes = layout.pack({ n: 7, s: 0.5, d: -3 }).data();
    expect(bytes.byteLength).toBe(16);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect([view.getUint32(0, true), view.getFloat32(4, true), view.getInt32(8, true), view.getUint32(12, true)]).toEqual([7, 0.5, -3, 0]);
    expect(() => layout.pack({ n: 7, s: 0.5 } as never)).toThrow(/Params.d missing/);
    expect(() => layout.pack({ n: -1, s: 0.5, d: 0 })).toThrow(/not a u32/);
  });
});
