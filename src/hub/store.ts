// Where downloaded model files live. A small interface so the downloader is testable in Node
// (MemoryStore) and runs on the Origin Private File System in the browser (OpfsStore).
// A store holds folders ("model keys") of flat files; it knows nothing of Hub semantics.
import { type ByteSource, concatBytes } from '../engine/model/safetensors';

/** Appends bytes to one file. close() keeps what was written; abort() may drop it. */
export interface FileWriter {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

export interface StorageEstimate {
  usage: number;
  quota: number;
  /** Where the space is, for the refusal's message (a disk folder); absent: the browser's storage. */
  where?: string;
}

export interface ModelStore {
  /** Size in bytes of a stored file, or null when it does not exist. */
  fileSize(key: string, file: string): Promise<number | null>;
  /** Opens `file` for writing at `offset`, dropping any bytes after it (0 starts over). */
  openWriter(key: string, file: string, offset: number): Promise<FileWriter>;
  /** Random access to a stored file; never loads it whole. */
  source(key: string, file: string): Promise<ByteSource>;
  /** Model keys (folders) present, complete or not. */
  keys(): Promise<string[]>;
  files(key: string): Promise<{ name: string; size: number }[]>;
  deleteFile(key: string, file: string): Promise<void>;
  deleteKey(key: string): Promise<void>;
  /** Usage and quota of the origin's storage, or null where the platform cannot tell. */
  estimate(): Promise<StorageEstimate | null>;
  /** Asks for persistent storage (not evicted under pressure); resolves to whether it is. */
  persist(): Promise<boolean>;
}

/** Writes a small file in one go (manifests, JSON). */
export async function writeWhole(store: ModelStore, key: string, file: string, bytes: Uint8Array): Promise<void> {
  const w = await store.openWriter(key, file, 0);
  try {
    await w.write(bytes);
  } catch (e) {
    await w.abort();
    throw e;
  }
  await w.close();
}

export async function readText(store: ModelStore, key: string, file: string): Promise<string> {
  const src = await store.source(key, file);
  return new TextDecoder().decode(await src.read(0, src.size));
}

export function checkPlainFileName(file: string): void {
  if (!file || file.includes('/') || file.includes('\\') || file === '.' || file === '..') {
    throw new Error(`"${file}" is not a plain file name`);
  }
}

export interface MemoryStoreOptions {
  /** What estimate() reports; null means "cannot tell". Usage adds the bytes stored here. */
  quota?: number | null;
  baseUsage?: number;
  persistGranted?: boolean;
}

/**
 * Keeps files in memory. For tests and for environments without a file system; it also
 * honours a quota (writes past it fail with QuotaExceededError, like the browser's storage).
 */
export class MemoryStore implements ModelStore {
  private readonly data = new Map<string, Map<string, Uint8Array[]>>();
  persistRequested = 0;

  constructor(private readonly opts: MemoryStoreOptions = {}) {}

  private bytesStored(): number {
    let n = 0;
    for (const files of this.data.values()) for (const chunks of files.values()) for (const c of chunks) n += c.byteLength;
    return n;
  }

  async fileSize(key: string, file: string): Promise<number | null> {
    const chunks = this.data.get(key)?.get(file);
    return chunks ? chunks.reduce((n, c) => n + c.byteLength, 0) : null;
  }

  async openWriter(key: string, file: string, offset: number): Promise<FileWriter> {
    checkPlainFileName(file);
    let files = this.data.get(key);
    if (!files) this.data.set(key, (files = new Map()));
    const existing = files.get(file) ?? [];
    const size = existing.reduce((n, c) => n + c.byteLength, 0);
    if (offset > size) throw new Error(`${file}: cannot write at ${offset}, the file has ${size} bytes`);
    const kept = concatBytes(existing).slice(0, offset);
    const chunks = [kept];
    files.set(file, chunks);
    let open = true;
    return {
      write: async (chunk) => {
        if (!open) throw new Error(`${file}: writer is closed`);
        if (this.opts.quota != null && (this.opts.baseUsage ?? 0) + this.bytesStored() + chunk.byteLength > this.opts.quota) {
          throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        }
        chunks.push(chunk.slice());
      },
      close: async () => {
        open = false;
      },
      abort: async () => {
        open = false;
      },
    };
  }

  async source(key: string, file: string) {
    const chunks = this.data.get(key)?.get(file);
    if (!chunks) throw new Error(`${key}/${file} is not stored`);
    const bytes = concatBytes(chunks);
    return {
      name: file,
      size: bytes.byteLength,
      read: async (offset: number, length: number) => {
        if (offset < 0 || length < 0 || offset + length > bytes.byteLength) {
          throw new Error(`${file}: read of ${length} bytes at ${offset} is past the end (${bytes.byteLength} bytes)`);
        }
        return bytes.slice(offset, offset + length);
      },
    };
  }

  async keys(): Promise<string[]> {
    return [...this.data.keys()];
  }

  async files(key: string) {
    return [...(this.data.get(key) ?? new Map<string, Uint8Array[]>()).entries()].map(([name, chunks]) => ({
      name,
      size: chunks.reduce((n, c) => n + c.byteLength, 0),
    }));
  }

  async deleteFile(key: string, file: string): Promise<void> {
    this.data.get(key)?.delete(file);
  }

  async deleteKey(key: string): Promise<void> {
    this.data.delete(key);
  }

  async estimate(): Promise<StorageEstimate | null> {
    if (this.opts.quota == null) return null;
    return { usage: (this.opts.baseUsage ?? 0) + this.bytesStored(), quota: this.opts.quota };
  }

  async persist(): Promise<boolean> {
    this.persistRequested++;
    return this.opts.persistGranted ?? true;
  }
}
