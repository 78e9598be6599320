// ModelStore on the Origin Private File System (browser; best in a dedicated worker, where
// sync access handles write in place so a broken download keeps every byte it received).
// Layout: <OPFS root>/models/<key>/<file>.
import { blobSource } from '../engine/model/safetensors';
import { checkPlainFileName, type FileWriter, type ModelStore, type StorageEstimate } from './store';

interface SyncAccessHandle {
  write(buffer: Uint8Array, opts: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

type DirWithEntries = FileSystemDirectoryHandle & { entries(): AsyncIterableIterator<[string, FileSystemHandle]> };

export class OpfsStore implements ModelStore {
  constructor(
    private readonly storage: StorageManager = navigator.storage,
    private readonly rootName = 'models',
  ) {}

  static isAvailable(): boolean {
    return typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function';
  }

  private async root(): Promise<FileSystemDirectoryHandle> {
    return (await this.storage.getDirectory()).getDirectoryHandle(this.rootName, { create: true });
  }

  private async dir(key: string, create: boolean): Promise<FileSystemDirectoryHandle | null> {
    checkPlainFileName(key);
    try {
      return await (await this.root()).getDirectoryHandle(key, { create });
    } catch (e) {
      if ((e as DOMException).name === 'NotFoundError') return null;
      throw e;
    }
  }

  private async file(key: string, file: string): Promise<FileSystemFileHandle | null> {
    checkPlainFileName(file);
    const dir = await this.dir(key, false);
    if (!dir) return null;
    try {
      return await dir.getFileHandle(file);
    } catch (e) {
      if ((e as DOMException).name === 'NotFoundError' || (e as DOMException).name === 'TypeMismatchError') return null;
      throw e;
    }
  }

  async fileSize(key: string, file: string): Promise<number | null> {
    const h = await this.file(key, file);
    return h ? (await h.getFile()).size : null;
  }

  async openWriter(key: string, file: string, offset: number): Promise<FileWriter> {
    checkPlainFileName(file);
    const dir = (await this.dir(key, true))!;
    const handle = await dir.getFileHandle(file, { create: true });
    const size = (await handle.getFile()).size;
    if (offset > size) throw new Error(`${file}: cannot write at ${offset}, the file has ${size} bytes`);

    const createSync = (handle as unknown as { createSyncAccessHandle?: () => Promise<SyncAccessHandle> }).createSyncAccessHandle;
    if (typeof createSync === 'function' && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined') {
      const access = await createSync.call(handle);
      access.truncate(offset);
      let at = offset;
      let open = true;
      const finish = () => {
        if (!open) return;
        open = false;
        access.flush();
        access.close();
      };
      return {
        write: async (chunk) => {
          let done = 0;
          while (done < chunk.byteLength) done += access.write(chunk.subarray(done), { at: at + done });
          at += chunk.byteLength;
        },
        close: async () => finish(),
        abort: async () => finish(),
      };
    }
    // Window context: a writable stream (commits on close; abort discards this session's bytes).
    const writable = await handle.createWritable({ keepExistingData: offset > 0 });
    await writable.truncate(offset);
    await writable.seek(offset);
    return {
      write: (chunk) => writable.write(chunk as Uint8Array<ArrayBuffer>),
      close: () => writable.close(),
      abort: () => writable.abort(),
    };
  }

  async source(key: string, file: string) {
    const h = await this.file(key, file);
    if (!h) throw new Error(`${key}/${file} is not stored`);
    return blobSource(await h.getFile(), file);
  }

  async keys(): Promise<string[]> {
    const out: string[] = [];
    for await (const [name, h] of ((await this.root()) as DirWithEntries).entries()) if (h.kind === 'directory') out.push(name);
    return out;
  }

  async files(key: string): Promise<{ name: string; size: number }[]> {
    const dir = await this.dir(key, false);
    if (!dir) return [];
    const out: { name: string; size: number }[] = [];
    for await (const [name, h] of (dir as DirWithEntries).entries()) {
      if (h.kind === 'file') out.push({ name, size: (await (h as FileSystemFileHandle).getFile()).size });
    }
    return out;
  }

  async deleteFile(key: string, file: string): Promise<void> {
    const dir = await this.dir(key, false);
    await dir?.removeEntry(file).catch((e: DOMException) => {
      if (e.name !== 'NotFoundError') throw e;
    });
  }

  async deleteKey(key: string): Promise<void> {
    await (await this.root()).removeEntry(key, { recursive: true }).catch((e: DOMException) => {
      if (e.name !== 'NotFoundError') throw e;
    });
  }

  async estimate(): Promise<StorageEstimate | null> {
    if (typeof this.storage.estimate !== 'function') return null;
    const e = await this.storage.estimate();
    return e.quota === undefined ? null : { usage: e.usage ?? 0, quota: e.quota };
  }

  /**
   * Asks for persistent storage. persist() exists only in windows: in a worker this reports
   * whether the page already obtained it (the UI asks when the user starts a download).
   */
  async persist(): Promise<boolean> {
    const already = typeof this.storage.persisted === 'function' ? await this.storage.persisted() : false;
    if (already || typeof this.storage.persist !== 'function') return already;
    return this.storage.persist();
  }
}
