// Node-only ByteSource over a file handle. Kept apart from safetensors.ts so that browser
// bundles never import node:fs.
import { open } from 'node:fs/promises';
import type { ByteSource } from './safetensors';

export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
}

/** Opens a file for random-access reads; call close() when done. */
export async function openFileSource(path: string): Promise<FileByteSource> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    name: path,
    size,
    read: async (offset, length) => {
      if (offset < 0 || length < 0 || offset + length > size) {
        throw new Error(`${path}: read of ${length} bytes at ${offset} is past the end (${size} bytes)`);
      }
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new Error(`${path}: file ended after ${offset + done} bytes (expected ${size})`);
        done += bytesRead;
      }
      return buf;
    },
    close: () => handle.close(),
  };
}
