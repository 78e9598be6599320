// parseDataset: bytes → {format, examples, errors, duplicates, warnings}. The entry point of the
// data screen and the CLI. It never throws on bad input (only when aborted): problems come back
// as row errors (with row, line, field) and file errors. Invalid rows are never dropped silently:
// selectTrainingExamples refuses a dataset with errors unless the caller consents to exclude them.

import type { DatasetInput } from './bytes';
import { inputSize } from './bytes';
import { findDuplicates } from './duplicates';
import type { DuplicateGroup } from './duplicates';
import { removeDuplicates } from './duplicates';
import { detectFormat, normalizeRecord, STANDARD_MAPPINGS } from './formats';
import type { FormatDetection } from './formats';
import { fileTypeFromName, readRecords } from './readers';
import type { DataWarning, DatasetFormat, Example, FieldMapping, FileError, FileType, RawRecord, RowError } from './types';

/** Below this many good examples a fine-tune rarely learns anything reliable (the seed rule). */
export const MIN_RECOMMENDED_EXAMPLES = 200;

/** Records sampled for format detection. */
export const DETECT_SAMPLE = 200;

/** Row errors listed in full; beyond this only the count grows (a binary file could yield millions). */
export const MAX_LISTED_ERRORS = 1000;

export interface ParseProgress {
  bytesRead: number;
  totalBytes: number;
  records: number;
  errors: number;
}

export interface ParseOptions {
  /** Used to pick the container from the extension (.jsonl, .json, .csv, .tsv, .parquet). */
  fileName?: string;
  /** Overrides the container chosen from fileName. */
  fileType?: FileType;
  /** Overrides format detection with one of the known formats. */
  format?: DatasetFormat;
  /** Field mapping for unknown keys or CSV columns; wins over `format`. */
  mapping?: FieldMapping;
  /** CSV delimiter (default: auto-detect for .csv, tab for .tsv). */
  delimiter?: string;
  onProgress?: (p: ParseProgress) => void;
  signal?: AbortSignal;
}

export interface ParseResult {
  fileType: FileType;
  /** The format used, or null when it could not be detected: supply a mapping (see detection.keys). */
  format: DatasetFormat | null;
  mapping: FieldMapping | null;
  /** What detection saw (null when the caller gave a mapping or format). */
  detection: FormatDetection | null;
  /** Valid examples, in file order. Duplicates are still in (see `duplicates`). */
  examples: Example[];
  /** Row errors, at most MAX_LISTED_ERRORS of them. */
  errors: RowError[];
  /** All row errors, listed or not. */
  errorCount: number;
  /** Distinct rows with at least one error. */
  invalidRowCount: number;
  fileErrors: FileError[];
  duplicates: DuplicateGroup[];
  warnings: DataWarning[];
  /** Records read, valid or not. */
  recordCount: number;
}

function mappingFormat(m: FieldMapping): DatasetFormat {
  return m.format;
}

/** Parses a dataset file. Resolves with everything found; rejects only when `signal` aborts. */
export async function parseDataset(input: DatasetInput, opts: ParseOptions = {}): Promise<ParseResult> {
  const fileType = opts.fileType ?? fileTypeFromName(opts.fileName);
  const totalBytes = inputSize(input);
  let mapping: FieldMapping | null = opts.mapping ?? (opts.format ? STANDARD_MAPPINGS[opts.format] : null);
  let format: DatasetFormat | null = opts.mapping ? mappingFormat(opts.mapping) : (opts.format ?? null);
  let detection: FormatDetection | null = null;
  let pending: RawRecord[] | null = mapping ? null : []; // records held back until detection decides
  let detectionFailed = false;

  const examples: Example[] = [];
  const errors: RowError[] = [];
  const fileErrors: FileError[] = [];
  const warnings: DataWarning[] = [];
  const invalidRows = new Set<number>();
  let errorCount = 0;
  let recordCount = 0;

  const addError = (e: RowError) => {
    errorCount++;
    invalidRows.add(e.row);
    if (errors.length < MAX_LISTED_ERRORS) errors.push(e);
  };
  const normalize = (rec: RawRecord) => {
    const out = normalizeRecord(rec, mapping!);
    if (Array.isArray(out)) out.forEach(addError);
    else examples.push(out);
  };
  const decide = () => {
    if (!pending) return;
    detection = detectFormat(pending.map((r) => r.value), DETECT_SAMPLE);
    if (detection.format) {
      format = detection.format;
      mapping = STANDARD_MAPPINGS[format];
      const held = pending;
      pending = null;
      held.forEach(normalize);
    } else {
      detectionFailed = true;
      pending = null;
    }
  };

  await readRecords(
    input,
    fileType,
    {
      record(rec) {
        recordCount++;
        if (pending) {
          pending.push(rec);
          if (pending.length >= DETECT_SAMPLE) decide();
        } else if (!detectionFailed) normalize(rec);
      },
      error(err) {
        recordCount++;
        addError(err);
      },
      fileError(err) {
        fileErrors.push(err);
      },
      warning(w) {
        warnings.push(w);
      },
      progress(bytesRead) {
        opts.onProgress?.({ bytesRead, totalBytes, records: recordCount, errors: errorCount });
      },
    },
    { signal: opts.signal, delimiter: opts.delimiter },
  );
  decide();
  opts.onProgress?.({ bytesRead: totalBytes, totalBytes, records: recordCount, errors: errorCount });

  if (recordCount === 0 && fileErrors.length === 0) fileErrors.push({ code: 'no-records', message: 'the file holds no records' });
  const det = detection as FormatDetection | null;
  if (detectionFailed && det) {
    const keys = det.keys.length ? `keys found: ${det.keys.slice(0, 12).join(', ')}` : 'no JSON objects found';
    warnings.push({
      code: 'needs-mapping',
      message: `could not recognise the format (expected messages, conversations, instruction/output, prompt/completion or text; ${keys}); choose which fields to use`,
    });
  }
  if (det && det.format) {
    const others = Object.entries(det.votes).filter(([f]) => f !== det.format);
    if (others.length) {
      warnings.push({
        code: 'mixed-formats',
        message: `records look like several formats (${Object.entries(det.votes).map(([f, n]) => `${f}: ${n}`).join(', ')}); using ${det.format}, rows in other formats are reported as errors`,
      });
    }
  }
  if (errorCount > errors.length) {
    warnings.push({ code: 'errors-truncated', message: `${errorCount} problems found; the first ${errors.length} are listed` });
  }
  const duplicates = findDuplicates(examples);
  const dupCount = duplicates.reduce((n, g) => n + g.duplicates.length, 0);
  if (dupCount > 0) {
    warnings.push({ code: 'duplicates', message: `${dupCount} examples are exact duplicates of earlier ones (${duplicates.length} distinct); removing them is recommended` });
  }
  const good = examples.length - dupCount;
  if (!detectionFailed && good < MIN_RECOMMENDED_EXAMPLES) {
    warnings.push({
      code: 'few-examples',
      message:
        `only ${good} good example${good === 1 ? '' : 's'}: a fine-tune rarely learns anything reliable from fewer than ${MIN_RECOMMENDED_EXAMPLES}. ` +
        'Collect more data first, or try prompting (instructions and a few examples in the prompt) or retrieval (RAG) instead.',
    });
  }
  return {
    fileType,
    format,
    mapping,
    detection,
    examples,
    errors,
    errorCount,
    invalidRowCount: invalidRows.size,
    fileErrors,
    duplicates,
    warnings,
    recordCount,
  };
}

export class DatasetNotReadyError extends Error {
  override name = 'DatasetNotReadyError';
}

export interface SelectOptions {
  /** The caller's consent to train without the invalid rows (they are listed in result.errors). */
  excludeInvalid?: boolean;
  /** Drop exact duplicates (keeping first occurrences). */
  removeDuplicates?: boolean;
}

/**
 * The examples to train on. Throws DatasetNotReadyError when the format is unknown, nothing is
 * valid, or there are invalid rows or file problems and the caller has not consented to exclude them.
 */
export function selectTrainingExamples(result: ParseResult, opts: SelectOptions = {}): Example[] {
  if (!result.mapping) throw new DatasetNotReadyError('the dataset format was not recognised: choose a field mapping first');
  const problems = result.errorCount + result.fileErrors.length;
  if (problems > 0 && !opts.excludeInvalid) {
    throw new DatasetNotReadyError(
      `${result.invalidRowCount} invalid row${result.invalidRowCount === 1 ? '' : 's'} and ${result.fileErrors.length} file problem${result.fileErrors.length === 1 ? '' : 's'}: fix the file, or pass excludeInvalid to train without them`,
    );
  }
  const examples = opts.removeDuplicates ? removeDuplicates(result.examples, result.duplicates) : result.examples.slice();
  if (examples.length === 0) throw new DatasetNotReadyError('the dataset has no valid examples');
  return examples;
}
