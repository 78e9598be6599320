import { describe, expect, it } from 'vitest';
import { unzipSync } from 'fflate';
import { canPickFolder, folderTarget, singleFileBlobTarget, zipBlobTarget, type DirectoryLike, type WritableLike } from './export-sink';

/** An in-memory folder with the File System Access API's shape; records every call. */
function fakeFolder() {
  const files = new Map<string, Uint8Array[]>();
  const log: string[] = [];
  const dir: DirectoryLike = {
    async getFileHandle(name) {
      files.set(name, []);
      log.push(`open ${name}`);
      return {
        async createWritable(): Promise<WritableLike> {
          return {
            write: async (d) => void files.get(name)!.push(d.slice()),
            close: async () => void log.push(`close ${name}`),
            abort: async () => void log.push(`abort ${name}`),
          };
        },
      };
    },
    async removeEntry(name) {
      files.delete(name);
      log.push(`remove ${name}`);
    },
  };
  const bytes = (name: string) => new Uint8Array(files.get(name)!.flatMap((c) => [...c]));
  return { dir, files, log, bytes };
}

const enc = (s: string) => new TextEncoder().encode(s);
// A plain loop: Uint8Array.from with a callback takes seconds for 20 MiB on a loaded machine.
const big = (n: number, seed: number) => {
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = (i * 31 + seed) & 255;
  return a;
};

describe('export targets', () => {
  it('folder: each file opened once, chunks in order, closed before the next opens and at the end', async () => {
    const f = fakeFolder();
    const t = folderTarget(f.dir);
    await t.write('model.safetensors', enc('ab'));
    await t.write('model.safetensors', enc('cd'));
    await t.write('config.json', enc('{}'));
    expect(await t.finish()).toBeNull();
    expect(new TextDecoder().decode(f.bytes('model.safetensors'))).toBe('abcd');
    expect(new TextDecoder().decode(f.bytes('config.json'))).toBe('{}');
    expect(f.log).toEqual(['open model.safetensors', 'close model.safetensors', 'open config.json', 'close config.json']);
  });

  it('folder: abort discards the open file and removes every file it created', async () => {
    const f = fakeFolder();
    const t = folderTarget(f.dir);
    await t.write('a.bin', enc('1'));
    await t.write('b.bin', enc('2'));
    await t.abort();
    expect([...f.files.keys()]).toEqual([]);
    expect(f.log).toEqual(['open a.bin', 'close a.bin', 'open b.bin', 'abort b.bin', 'remove a.bin', 'remove b.bin']);
  });

  it('single file: a Blob with every chunk in order (across the fold size), and a second file is refused', async () => {
    const t = singleFileBlobTarget();
    const chunks = [big(20 * 2 ** 20, 1), big(20 * 2 ** 20, 2), enc('tail')];
    for (const c of chunks) await t.write('m.gguf', c);
    const blob = (await t.finish())!;
    const got = new Uint8Array(await blob.arrayBuffer());
    expect(got.length).toBe(chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of chunks) {
      expect(Buffer.compare(got.subarray(off, off + c.length), c)).toBe(0);
      off += c.length;
    }
    const two = singleFileBlobTarget();
    await two.write('a', enc('x'));
    await expect(two.write('b', enc('y'))).rejects.toThrow(/second file/);
  });

  it('zip: every file under the folder, byte for byte, readable by a standard unzip', async () => {
    const t = zipBlobTarget('my-merged');
    const weights = big(3 * 2 ** 20 + 17, 5);
    await t.write('model.safetensors', weights.subarray(0, 1000));
    await t.write('model.safetensors', weights.subarray(1000));
    await t.write('config.json', enc('{"a":1}'));
    await t.write('tokenizer.json', enc('{"model":{}}'));
    const blob = (await t.finish())!;
    expect(blob.type).toBe('application/zip');
    const files = unzipSync(new Uint8Array(await blob.arrayBuffer()));
    expect(Object.keys(files).sort()).toEqual(['my-merged/config.json', 'my-merged/model.safetensors', 'my-merged/tokenizer.json']);
    expect(Buffer.compare(files['my-merged/model.safetensors'], weights)).toBe(0);
    expect(new TextDecoder().decode(files['my-merged/config.json'])).toBe('{"a":1}');
  });

  it('folder picking is offered only where showDirectoryPicker exists', () => {
    expect(canPickFolder({})).toBe(false);
    expect(canPickFolder({ showDirectoryPicker: async () => null })).toBe(true);
  });
});
