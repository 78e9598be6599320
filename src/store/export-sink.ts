// Where a streamed export lands in the page: files in a folder the user picked (File System
// Access API: chunks go straight to disk), or, where the browser has no folder picker, a Blob
// assembled from the streamed chunks (a Blob of parts needs no contiguous buffer and Chrome
// keeps large ones on disk) that the page then offers as a download. Several files become one
// uncompressed zip, streamed the same way.
import { Zip, ZipPassThrough } from 'fflate';

export interface ExportTarget {
  /** Appends `chunk` to `file`; files arrive one after another, each chunk in order. */
  write(file: string, chunk: Uint8Array): Promise<void>;
  /** Closes the last file. Resolves with the assembled Blob (download targets) or null (folder). */
  finish(): Promise<Blob | null>;
  /** Stops and removes what was written. */
  abort(): Promise<void>;
}

/** Minimal slices of the File System Access API that the folder target uses. */
export interface WritableLike {
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}
export interface DirectoryLike {
  getFileHandle(name: string, opts: { create: true }): Promise<{ createWritable(): Promise<WritableLike> }>;
  removeEntry(name: string, opts?: { recursive: boolean }): Promise<void>;
}

/** Whether this browser can write into a folder the user picks (Chrome, Edge). */
export function canPickFolder(w: unknown = globalThis): boolean {
  return typeof (w as { showDirectoryPicker?: unknown }).showDirectoryPicker === 'function';
}

/** Writes each file into `dir`, streaming: nothing is held beyond the chunk being written. */
export function folderTarget(dir: DirectoryLike): ExportTarget {
  let current: { name: string; out: WritableLike } | null = null;
  const created: string[] = [];
  return {
    async write(file, chunk) {
      if (current?.name !== file) {
        if (current) await current.out.close();
        current = null;
        const handle = await dir.getFileHandle(file, { create: true });
        created.push(file);
        current = { name: file, out: await handle.createWritable() };
      }
      await current.out.write(chunk);
    },
    async finish() {
      if (current) await current.out.close();
      current = null;
      return null;
    },
    async abort() {
      if (current) await current.out.abort().catch(() => undefined);
      current = null;
      for (const f of created) await dir.removeEntry(f).catch(() => undefined);
    },
  };
}

/** Chunks are folded into Blobs about this often, so the JS heap holds little of the export. */
const FOLD_BYTES = 32 * 2 ** 20;

/** Collects parts into a Blob without ever concatenating them into one buffer. */
class BlobParts {
  private blobs: Blob[] = [];
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  push(c: Uint8Array) {
    this.pending.push(c);
    this.pendingBytes += c.byteLength;
    if (this.pendingBytes >= FOLD_BYTES) this.fold();
  }
  private fold() {
    if (this.pending.length) this.blobs.push(new Blob(this.pending as BlobPart[]));
    this.pending = [];
    this.pendingBytes = 0;
  }
  blob(type: string): Blob {
    this.fold();
    return new Blob(this.blobs, { type });
  }
}

/** One file as a Blob (e.g. a single GGUF). Throws if a second file name arrives. */
export function singleFileBlobTarget(type = 'application/octet-stream'): ExportTarget {
  let name: string | null = null;
  let parts = new BlobParts();
  return {
    async write(file, chunk) {
      if (name !== null && name !== file) throw new Error(`A single-file export got a second file (${file} after ${name}).`);
      name = file;
      parts.push(chunk);
    },
    async finish() {
      return parts.blob(type);
    },
    async abort() {
      parts = new BlobParts();
    },
  };
}

/** Every file inside `folder/` of an uncompressed zip (weights do not compress), streamed into a Blob. */
export function zipBlobTarget(folder: string): ExportTarget {
  let parts = new BlobParts();
  let failure: Error | null = null;
  let done: (() => void) | null = null;
  const finished = new Promise<void>((r) => (done = r));
  const zip = new Zip((err, data, final) => {
    if (err) failure = err;
    else parts.push(data);
    if (final || err) done?.();
  });
  let current: { name: string; entry: ZipPassThrough } | null = null;
  const check = () => {
    if (failure) throw failure;
  };
  return {
    async write(file, chunk) {
      check();
      if (current?.name !== file) {
        current?.entry.push(new Uint8Array(0), true);
        const entry = new ZipPassThrough(`${folder}/${file}`);
        zip.add(entry);
        current = { name: file, entry };
      }
      current.entry.push(chunk, false);
      check();
    },
    async finish() {
      current?.entry.push(new Uint8Array(0), true);
      current = null;
      zip.end();
      await finished;
      check();
      return parts.blob('application/zip');
    },
    async abort() {
      zip.terminate();
      parts = new BlobParts();
    },
  };
}
