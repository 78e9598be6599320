// Reading a dataset file from disk through the same pipeline as the studio.
import { createReadStream, openAsBlob, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { datasetStats, loadTokenizer, parseDataset, selectTrainingExamples, tokenizeExamples, type DatasetStats, type Example, type ParseResult, type TokenizerFiles } from '../data';
import type { DatasetFormat } from '../data/types';
import { CliError } from './model-dir';

export async function parseDatasetFile(path: string, opts: { format?: DatasetFormat } = {}): Promise<ParseResult> {
  if (!existsSync(path)) throw new CliError(`--data ${path}: no such file`);
  // openAsBlob reads lazily, so a large file is streamed, never held whole.
  const blob = await openAsBlob(path);
  return parseDataset(blob, { fileName: basename(path), format: opts.format });
}

/** SHA-256 of a file, streamed: identifies the dataset a run trained on. */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The examples a run uses: refuses an unrecognised format, and invalid rows unless the user
 * consented (--exclude-invalid), naming the flag; `purpose` words the advice ("train", "evaluate").
 */
export function selectExamples(path: string, r: ParseResult, opts: { excludeInvalid: boolean; removeDuplicates?: boolean; purpose: string }): Example[] {
  if (!r.mapping) throw new CliError(`--data ${path}: the format was not recognised (keys: ${r.detection?.keys.join(', ') ?? 'none'}); convert it to chat, alpaca, prompt/completion or text`);
  try {
    return selectTrainingExamples(r, { excludeInvalid: opts.excludeInvalid, removeDuplicates: opts.removeDuplicates });
  } catch (e) {
    throw new CliError(`${(e as Error).message} (${r.invalidRowCount} invalid rows; pass --exclude-invalid to ${opts.purpose} without them)`, { cause: e });
  }
}

export function describeDataset(path: string, r: ParseResult, out: (l: string) => void): void {
  out(`dataset ${path}`);
  out(`  ${r.fileType}, format ${r.format ?? 'not recognised (needs a field mapping)'}; ${r.recordCount} records, ${r.examples.length} valid examples`);
  const pairs = r.examples.filter((e) => e.kind === 'preference').length;
  if (pairs > 0) out(`  ${pairs} preference pairs (prompt, chosen, rejected): train with --objective dpo or --objective orpo`);
  if (r.errorCount > 0) {
    out(`  ${r.errorCount} problems in ${r.invalidRowCount} rows:`);
    for (const e of r.errors.slice(0, 10)) out(`    ${e.message}`);
    if (r.errorCount > 10) out(`    … and ${r.errorCount - 10} more`);
  }
  for (const e of r.fileErrors) out(`  file error: ${e.message}`);
  for (const w of r.warnings) out(`  warning: ${w.message}`);
}

/** Token statistics with the model's tokenizer and chat template: what training will see. */
export async function tokenStats(r: ParseResult, tokenizer: TokenizerFiles, seqLen: number, out: (l: string) => void): Promise<DatasetStats> {
  const tok = loadTokenizer(tokenizer);
  const examples = selectTrainingExamples(r, { excludeInvalid: true });
  const t = await tokenizeExamples(tok, examples, { lossMode: 'all-assistant' });
  const s = datasetStats([...t.examples, ...t.pairs], { maxLength: seqLen });
  out(`  tokens: ${s.totalTokens} in ${s.examples} ${s.pairs ? `sequences (${s.pairs} preference pairs)` : 'examples'}, ${s.trainedTokens} trained (${(100 * s.trainedShare).toFixed(1)}%)`);
  out(`  length: min ${s.minLength}, median ${s.medianLength}, p95 ${s.p95Length}, max ${s.maxLength}`);
  if (s.truncation && s.truncation.overLength > 0) {
    const tr = s.truncation;
    out(`  ${tr.overLength} examples exceed --seq-len ${seqLen}: ${tr.tokensLost} tokens (${tr.trainedTokensLost} trained) would be cut; ${tr.fullyTruncatedRows.length} would have nothing left to train on`);
  }
  for (const e of t.errors.slice(0, 5)) out(`  tokenize: ${e.message}`);
  return s;
}

export async function inspectDataset(path: string, out: (l: string) => void, withTokens?: { tokenizer: TokenizerFiles; seqLen: number }) {
  const r = await parseDatasetFile(path);
  describeDataset(path, r, out);
  const stats = withTokens && r.examples.length > 0 ? await tokenStats(r, withTokens.tokenizer, withTokens.seqLen, out) : null;
  return {
    stats,
    file: path,
    fileType: r.fileType,
    format: r.format,
    records: r.recordCount,
    examples: r.examples.length,
    errors: r.errors.slice(0, 100),
    errorCount: r.errorCount,
    duplicates: r.duplicates.length,
    fileErrors: r.fileErrors,
    warnings: r.warnings,
  };
}
