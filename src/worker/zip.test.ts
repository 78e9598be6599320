import { describe, expect, it } from 'vitest';
import { textBytes, unzipFiles, zipFiles } from './zip';

describe('adapter zip', () => {
  it('round-trips files inside a folder', () => {
    const w = new Uint8Array(1000).map((_, i) => i % 251);
    const z = zipFiles([{ name: 'adapter_config.json', bytes: textBytes('{"r":8}') }, { name: 'adapter_model.safetensors', bytes: w }], 'my-run');
    expect([z[0], z[1]]).toEqual([0x50, 0x4b]); // "PK"
    const files = unzipFiles(z);
    expect(files.map((f) => f.name).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(Array.from(files.find((f) => f.name.endsWith('.safetensors'))!.bytes)).toEqual(Array.from(w));
  });
});
