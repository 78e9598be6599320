// The data screen's work, in the worker: parse a dataset file (D's parseDataset) with
// progress and cancel, keep the bytes and the result here (the UI gets a summary, never the
// whole example list), re-parse with another format or mapping, and save it to persist/.
import { parseDataset, selectTrainingExamples, type ParseResult } from '../data/parse';
import type { DatasetFormat, Example, FieldMapping, FileType } from '../data/types';
import type { RunRecord as TrainingRecord } from '../train/recipe/run-record';
import { newId } from '../persist/db';
import { getDataset, saveDataset } from '../persist/repo';
import { endJob, startJob } from './jobs';

export type { DatasetFormat, Example, FieldMapping, FileType, RowError, DataWarning, FileError } from '../data/types';
export type { ParseProgress } from '../data/parse';

export interface ParseRequest {
  format?: DatasetFormat;
  mapping?: FieldMapping;
  fileType?: FileType;
}

/** What the data screen shows. Small: a preview and the listed errors, not every example. */
export interface DatasetReport {
  fileName: string;
  size: number;
  fileType: FileType;
  format: DatasetFormat | null;
  mapping: FieldMapping | null;
  detectedFormat: DatasetFormat | null;
  formatVotes: Partial<Record<DatasetFormat, number>>;
  /** Keys (or CSV columns) seen, most frequent first: choices for a mapping. */
  keys: string[];
  recordCount: number;
  exampleCount: number;
  invalidRowCount: number;
  errorCount: number;
  errors: ParseResult['errors'];
  fileErrors: ParseResult['fileErrors'];
  warnings: ParseResult['warnings'];
  duplicateCount: number;
  /** The first examples, for the preview. */
  preview: Example[];
  /** Characters per example (the first 20k examples), for a length histogram before tokenizing. */
  charLengths: number[];
}

const PREVIEW = 12;
const LENGTH_SAMPLE = 20_000;

interface Current {
  name: string;
  bytes: ArrayBuffer;
  request: ParseRequest;
  result: ParseResult;
}
let current: Current | null = null;

function report(c: Current): DatasetReport {
  const r = c.result;
  return {
    fileName: c.name,
    size: c.bytes.byteLength,
    fileType: r.fileType,
    format: r.format,
    mapping: r.mapping,
    detectedFormat: r.detection?.format ?? null,
    formatVotes: r.detection?.votes ?? {},
    keys: r.detection?.keys ?? [],
    recordCount: r.recordCount,
    exampleCount: r.examples.length,
    invalidRowCount: r.invalidRowCount,
    errorCount: r.errorCount,
    errors: r.errors,
    fileErrors: r.fileErrors,
    warnings: r.warnings,
    duplicateCount: r.duplicates.reduce((n, g) => n + g.duplicates.length, 0),
    preview: r.examples.slice(0, PREVIEW),
    charLengths: r.examples.slice(0, LENGTH_SAMPLE).map((e) => e.messages.reduce((n, m) => n + m.content.length, 0)),
  };
}

async function run(jobId: string, name: string, bytes: ArrayBuffer, req: ParseRequest, onProgress?: (p: { bytesRead: number; totalBytes: number; records: number; errors: number }) => void) {
  const signal = startJob(jobId);
  try {
    const result = await parseDataset(new Uint8Array(bytes), { fileName: name, signal, onProgress, ...req });
    current = { name, bytes, request: req, result };
    return report(current);
  } finally {
    endJob(jobId, signal);
  }
}

/** Parses a file the UI transferred (the worker keeps the bytes for re-parsing and saving). */
export function parseFile(jobId: string, name: string, bytes: ArrayBuffer, req: ParseRequest, onProgress?: (p: { bytesRead: number; totalBytes: number; records: number; errors: number }) => void): Promise<DatasetReport> {
  return run(jobId, name, bytes, req, onProgress);
}

/** Parses the current file again with another format, mapping or container. */
export function reparse(jobId: string, req: ParseRequest, onProgress?: (p: { bytesRead: number; totalBytes: number; records: number; errors: number }) => void): Promise<DatasetReport> {
  if (!current) throw new Error('No dataset loaded yet.');
  return run(jobId, current.name, current.bytes, req, onProgress);
}

/**
 * Saves the current dataset for training. Refuses (with the parser's message) when there are
 * invalid rows and the user has not consented to exclude them.
 */
export async function saveCurrent(opts: { excludeInvalid: boolean; removeDuplicates: boolean }): Promise<{ id: string; examples: number; pairs: boolean }> {
  if (!current) throw new Error('No dataset loaded yet.');
  const examples = selectTrainingExamples(current.result, opts);
  const pairs = holdsPairs(examples);
  const id = newId('dataset');
  await saveDataset({
    id,
    name: current.name,
    bytes: current.bytes,
    size: current.bytes.byteLength,
    createdAt: Date.now(),
    format: current.result.format ?? 'unknown',
    mapping: { request: current.request, mapping: current.result.mapping, excludeInvalid: opts.excludeInvalid, removeDuplicates: opts.removeDuplicates },
    examples: examples.length,
    excludedRows: opts.excludeInvalid ? current.result.invalidRowCount : 0,
    pairs,
  });
  // Preference pairs train with DPO/ORPO only: the Train screen says so before a run is started.
  return { id, examples: examples.length, pairs };
}

/** Re-opens a saved dataset as the current one. */
export async function openSaved(jobId: string, id: string): Promise<DatasetReport> {
  const d = await getDataset(id);
  if (!d) throw new Error(`Saved dataset ${id} is gone.`);
  const saved = d.mapping as { request?: ParseRequest } | null;
  return run(jobId, d.name, d.bytes, saved?.request ?? {});
}

/** SHA-256 of bytes as hex: the same digest the CLI takes of a dataset file (cli/dataset-file.ts). */
export async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A saved dataset as a run reads it: its file (name, SHA-256, parsed with the saved format) and the consent recorded when it was saved. */
export async function savedDatasetFile(datasetId: string): Promise<{ name: string; sha256: string; excludeInvalid: boolean; dedupe: boolean; parse: () => Promise<ParseResult> }> {
  const d = await getDataset(datasetId);
  if (!d) throw new Error(`Saved dataset ${datasetId} is gone.`);
  const saved = d.mapping as { request?: ParseRequest; excludeInvalid?: boolean; removeDuplicates?: boolean };
  const bytes = new Uint8Array(d.bytes);
  return {
    name: d.name,
    sha256: await sha256Hex(d.bytes),
    excludeInvalid: saved.excludeInvalid === true,
    dedupe: saved.removeDuplicates === true,
    parse: () => parseDataset(bytes, { fileName: d.name, ...(saved.request ?? {}) }),
  };
}

/** The examples a run trains on, from a saved dataset, and the provenance its training record keeps. */
export async function trainingExamples(datasetId: string): Promise<{ examples: Example[]; data: TrainingRecord['data'] }> {
  const f = await savedDatasetFile(datasetId);
  const examples = selectTrainingExamples(await f.parse(), { excludeInvalid: f.excludeInvalid, removeDuplicates: f.dedupe });
  return { examples, data: { file: f.name, sha256: f.sha256, excludeInvalid: f.excludeInvalid, dedupe: f.dedupe, examples: examples.length } };
}

/**
 * What a saved dataset holds, read from its stored file as a run reads it. For datasets saved
 * before the studio said whether they hold preference pairs (the stored record keeps the file).
 */
export async function savedDatasetKind(datasetId: string): Promise<{ examples: number; pairs: boolean }> {
  const { examples } = await trainingExamples(datasetId);
  return { examples: examples.length, pairs: holdsPairs(examples) };
}

/** Whether training examples are preference pairs (prompt, chosen, rejected): DPO/ORPO data. */
const holdsPairs = (examples: readonly Example[]) => examples.some((e) => e.kind === 'preference');

/** Valid examples of the dataset on screen (for token statistics). */
export function currentExamples(): Example[] {
  if (!current) throw new Error('No dataset loaded yet.');
  return current.result.examples;
}
