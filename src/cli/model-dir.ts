// ModelFiles over a Hugging Face model directory on disk.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelFiles } from '../engine/model/model-files';
import { openFileSource } from '../engine/model/node-source';

export class CliError extends Error {
  override name = 'CliError';
}

export function directoryModelFiles(dir: string): ModelFiles {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--model ${dir}: not a directory (expected a Hugging Face model folder)`);
  const present = new Set(readdirSync(dir));
  return {
    name: dir,
    has: (f) => present.has(f),
    text: (f) => readFile(join(dir, f), 'utf8'),
    source: (f) => openFileSource(join(dir, f)),
  };
}
