// The CLI's model cache on disk: the downloader's ModelStore (src/hub/store.ts) over a folder,
// one subfolder per model key, so a cached model is a plain model folder the CLI opens like any
// other. Node only (node:fs).
import { mkdir, open, readdir, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkPlainFileName, type FileWriter, type ModelStore, type StorageEstimate } from '../hub/store';
import type { ByteSource } from '../engine/model/safetensors';
import { openFileSource } from '../engine/model/node-source';

const isMissing = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

export class DirectoryStore implements ModelStore {
  constructor(readonly root: string) {}

  /** The folder of a model key (what the CLI opens once the model is complete). */
  folder(key: string): string {
    checkPlainFileName(key);
    return join(this.root, key);
  }

  private path(key: string, file: string): string {
    checkPlainFileName(file);
    return join(this.folder(key), file);
  }

  async fileSize(key: string, file: string): Promise<number | null> {
    try {
      const s = await stat(this.path(key, file));
      return s.isFile() ? s.size : null;
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  async openWriter(key: string, file: string, offset: number): Promise<FileWriter> {
    const path = this.path(key, file);
    await mkdir(this.folder(key), { recursive: true });
    const size = (await this.fileSize(key, file)) ?? 0;
    if (offset > size) throw new Error(`${file}: cannot write at ${offset}, the file has ${size} bytes`);
    const handle = await open(path, size === 0 && offset === 0 ? 'w' : 'r+');
    await handle.truncate(offset);
    let position = offset;
    let isOpen = true;
    const close = async () => {
      if (!isOpen) return;
      isOpen = false;
      await handle.close();
    };
    return {
      write: async (chunk) => {
        if (!isOpen) throw new Error(`${file}: writer is closed`);
        let done = 0;
        while (done < chunk.byteLength) {
          const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, position + done);
          done += bytesWritten;
        }
        position += chunk.byteLength;
      },
      close,
      // What was written stays: a broken download resumes from it (the downloader deletes what it must not keep).
      abort: close,
    };
  }

  /** Reads open the file for each call, so nothing is left open (the downloader only reads small files here). */
  async source(key: string, file: string): Promise<ByteSource> {
    const path = this.path(key, file);
    const size = await this.fileSize(key, file);
    if (size === null) throw new Error(`${key}/${file} is not stored`);
    return {
      name: file,
      size,
      read: async (offset, length) => {
        const f = await openFileSource(path);
        try {
          return await f.read(offset, length);
        } finally {
          await f.close();
        }
      },
    };
  }

  async keys(): Promise<string[]> {
    try {
      return (await readdir(this.root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
  }

  async files(key: string): Promise<{ name: string; size: number }[]> {
    let entries;
    try {
      entries = await readdir(this.folder(key), { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
    const files = entries.filter((d) => d.isFile());
    return Promise.all(files.map(async (d) => ({ name: d.name, size: (await stat(join(this.folder(key), d.name))).size })));
  }

  async deleteFile(key: string, file: string): Promise<void> {
    await rm(this.path(key, file), { force: true });
  }

  async deleteKey(key: string): Promise<void> {
    await rm(this.folder(key), { recursive: true, force: true });
  }

  /** The free space of the disk the cache is on (the folder, or its nearest existing parent). */
  async estimate(): Promise<StorageEstimate | null> {
    let at = this.root;
    for (;;) {
      try {
        const s = await statfs(at);
        return { usage: 0, quota: s.bavail * s.bsize, where: `the disk of ${this.root}` };
      } catch (e) {
        if (!isMissing(e) || dirname(at) === at) return null;
        at = dirname(at);
      }
    }
  }

  /** A folder on disk is not evicted. */
  async persist(): Promise<boolean> {
    return true;
  }
}
