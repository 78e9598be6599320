// Writing results so that a failure leaves nothing half-written: everything goes into a
// temporary sibling first and is renamed into place only when complete.
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { CliError } from './model-dir';

/** Refuses to overwrite a non-empty directory or an existing file unless `force`. */
export function checkOutPath(out: string, force: boolean): void {
  if (!existsSync(out) || force) return;
  const isNonEmptyDir = (() => {
    try {
      return readdirSync(out).length > 0;
    } catch {
      return true; // a file
    }
  })();
  if (isNonEmptyDir) throw new CliError(`--out ${out} already exists; choose another path or pass --force`);
}

/** Runs `fill(tmpDir)` and moves the finished folder to `outDir`; removes the temp folder on failure. */
export async function writeDirAtomically(outDir: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const tmp = join(dirname(outDir), `.${basename(outDir)}.partial-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    await rm(outDir, { recursive: true, force: true });
    await rename(tmp, outDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Streams chunks into a file. */
export async function writeChunks(path: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
  const ws = createWriteStream(path);
  try {
    for await (const c of chunks) {
      if (!ws.write(c)) await once(ws, 'drain');
    }
  } finally {
    ws.end();
    await once(ws, 'close');
  }
}
