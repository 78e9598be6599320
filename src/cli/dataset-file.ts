// Reading a dataset file from disk through the same pipeline as the studio.
import { openAsBlob, existsSync } from 'node:fs';
import { basename } from 'node:path';
import { parseDataset, type ParseResult } from '../data/parse';
import type { DatasetFormat } from '../data/types';
import { CliError } from './model-dir';

export async function parseDatasetFile(path: string, opts: { format?: DatasetFormat } = {}): Promise<ParseResult> {
  if (!existsSync(path)) throw new CliError(`--data ${path}: no such file`);
  // openAsBlob reads lazily, so a large file is streamed, never held whole.
  const blob = await openAsBlob(path);
  return parseDataset(blob, { fileName: basename(path), format: opts.format });
}

export function describeDataset(path: string, r: ParseResult, out: (l: string) => void): void {
  out(`dataset ${path}`);
  out(`  ${r.fileType}, format ${r.format ?? 'not recognised (needs a field mapping)'}; ${r.recordCount} records, ${r.examples.length} valid examples`);
  if (r.errorCount > 0) {
    out(`  ${r.errorCount} problems in ${r.invalidRowCount} rows:`);
    for (const e of r.errors.slice(0, 10)) out(`    ${e.message}`);
    if (r.errorCount > 10) out(`    … and ${r.errorCount - 10} more`);
  }
  for (const e of r.fileErrors) out(`  file error: ${e.message}`);
  for (const w of r.warnings) out(`  warning: ${w.message}`);
}

export async function inspectDataset(path: string, out: (l: string) => void) {
  const r = await parseDatasetFile(path);
  describeDataset(path, r, out);
  return {
    file: path,
    fileType: r.fileType,
    format: r.format,
    records: r.recordCount,
    examples: r.examples.length,
    errors: r.errors.slice(0, 100),
    errorCount: r.errorCount,
    duplicates: r.duplicates.length,
    warnings: r.warnings,
  };
}
