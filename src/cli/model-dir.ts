// ModelFiles over a Hugging Face model directory on disk.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelFiles } from '../engine/model/model-files';
import { openFileSource, type FileByteSource } from '../engine/model/node-source';

export class CliError extends Error {
  override name = 'CliError';
}

export function directoryModelFiles(dir: string): ModelFiles & { close(): Promise<void> } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--model ${dir}: not a directory (expected a Hugging Face model folder)`);
  const present = new Set(readdirSync(dir));
  const opened: FileByteSource[] = [];
  return {
    name: dir,
    has: (f) => present.has(f),
    text: (f) => readFile(join(dir, f), 'utf8'),
    source: async (f) => {
      const s = await openFileSource(join(dir, f));
      opened.push(s);
      return s;
    },
    close: async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    },
  };
}
