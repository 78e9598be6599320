// Container readers: turn a file's bytes into raw records (or row/file errors) for normalisation.
// JSONL streams line by line over byte chunks; JSON and CSV/TSV decode the text once; parquet
// reads row ranges through hyparquet. None of them throws on bad input (only on abort).

import Papa from 'papaparse';
import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import type { AsyncBuffer } from 'hyparquet';
import { decodeUtf8Line, inputSize, MAX_LINE_BYTES, LineSplitter, readAllText, readChunks, readRange, sniffEncoding, abortError } from './bytes';
import type { DatasetInput } from './bytes';
import { jsonErrorOffset, lineColumn } from './json-error';
import type { DataWarning, FileError, FileType, RawRecord, RowError } from './types';

/** Where readers send what they find. */
export interface RecordSink {
  record(rec: RawRecord): void;
  error(err: RowError): void;
  fileError(err: FileError): void;
  warning(w: DataWarning): void;
  /** Bytes consumed so far (monotonic). */
  progress(bytesRead: number): void;
}

export interface ReadOptions {
  signal?: AbortSignal;
  /** CSV/TSV delimiter; default ',' for csv (papaparse auto-detects when ''), '\t' for tsv. */
  delimiter?: string;
}

/** Picks the container from the file name's extension (default jsonl). */
export function fileTypeFromName(fileName: string | undefined): FileType {
  const ext = (fileName ?? '').toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  switch (ext) {
    case 'json':
      return 'json';
    case 'csv':
      return 'csv';
    case 'tsv':
    case 'tab':
      return 'tsv';
    case 'parquet':
    case 'pq':
      return 'parquet';
    default:
      return 'jsonl';
  }
}

export async function readRecords(input: DatasetInput, type: FileType, sink: RecordSink, opts: ReadOptions = {}): Promise<void> {
  switch (type) {
    case 'jsonl':
      return readJsonl(input, sink, opts);
    case 'json':
      return readJson(input, sink, opts);
    case 'csv':
    case 'tsv':
      return readDelimited(input, type, sink, opts);
    case 'parquet':
      return readParquet(input, sink, opts);
  }
}

function shorten(s: string, n = 80): string {
  return s.length > n ? s.slice(0, n) + '…' : s;
}

/** Parses one JSONL line (already decoded) into a record or a row error; blank lines give null. */
function jsonlLine(text: string, row: number, line: number): RawRecord | RowError | null {
  if (text.trim() === '') return null;
  try {
    return { row, line, value: JSON.parse(text) };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { code: 'invalid-json', row, line, message: `line ${line}: invalid JSON (${why}): ${shorten(text.trim())}` };
  }
}

function isRowError(x: RawRecord | RowError): x is RowError {
  return 'code' in x;
}

const BINARY_HINT: FileError = {
  code: 'binary',
  message: 'the file contains NUL bytes: it looks like a binary file, not text (expected UTF-8 JSONL, JSON, CSV or parquet)',
};

/** JSONL: one JSON value per line; streams, holding at most one line in memory. */
async function readJsonl(input: DatasetInput, sink: RecordSink, opts: ReadOptions): Promise<void> {
  const size = inputSize(input);
  const sniff = sniffEncoding(await readRange(input, 0, Math.min(size, 4096)));
  if (sniff.looksBinary) sink.fileError(BINARY_HINT);
  let row = 0;
  const emit = (r: RawRecord | RowError | null) => {
    if (!r) return;
    row++;
    if (isRowError(r)) sink.error(r);
    else sink.record(r);
  };
  if (sniff.encoding !== 'utf-8') {
    // UTF-16 (e.g. "Unicode text" saved from Windows tools): decode once, then split the text.
    const { text } = await readAllText(input, { signal: opts.signal, onBytes: (n) => sink.progress(n) });
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (i % 4096 === 0 && opts.signal?.aborted) throw abortError(opts.signal);
      emit(jsonlLine(lines[i].replace(/\r$/, ''), row, i + 1));
    }
    return;
  }
  const splitter = new LineSplitter();
  let read = sniff.bomBytes;
  const handle = (l: { line: number; bytes: Uint8Array | null; tooLongBytes?: number }) => {
    if (l.bytes === null) {
      emit({
        code: 'line-too-long',
        row,
        line: l.line,
        message: `line ${l.line}: ${l.tooLongBytes} bytes is longer than the ${MAX_LINE_BYTES >> 20} MiB a single example may have; skipped`,
      });
      return;
    }
    const decoded = decodeUtf8Line(l.bytes);
    if ('badColumn' in decoded) {
      emit({ code: 'invalid-utf8', row, line: l.line, message: `line ${l.line}: invalid UTF-8 at column ${decoded.badColumn} (the file must be UTF-8 text)` });
      return;
    }
    emit(jsonlLine(decoded.text, row, l.line));
  };
  for await (const chunk of readChunks(input, { start: sniff.bomBytes, signal: opts.signal })) {
    for (const l of splitter.push(chunk)) handle(l);
    read += chunk.byteLength;
    sink.progress(read);
  }
  for (const l of splitter.end()) handle(l);
}

/** Keys under which a top-level object commonly holds the example array. */
const ARRAY_KEYS = ['data', 'train', 'examples', 'rows', 'records', 'items', 'dataset'];

/** JSON: an array of records, or an object holding one such array ({"data": [...]}). */
async function readJson(input: DatasetInput, sink: RecordSink, opts: ReadOptions): Promise<void> {
  const { text, invalidUtf8, sniff } = await readAllText(input, { signal: opts.signal, onBytes: (n) => sink.progress(n) });
  if (sniff.looksBinary) sink.fileError(BINARY_HINT);
  if (invalidUtf8) sink.fileError({ code: 'unreadable', message: 'the file is not valid UTF-8; invalid bytes were replaced by U+FFFD' });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    // A common mistake: JSONL saved as .json. If the first line is a JSON object on its own, read as JSONL.
    const firstLine = text.split('\n', 1)[0].trim();
    if (firstLine.startsWith('{')) {
      try {
        JSON.parse(firstLine);
        sink.warning({ code: 'read-as-jsonl', message: 'the .json file is not one JSON document; it was read as JSON Lines (one object per line)' });
        const lines = text.split('\n');
        let row = 0;
        for (let i = 0; i < lines.length; i++) {
          const r = jsonlLine(lines[i].replace(/\r$/, ''), row, i + 1);
          if (!r) continue;
          row++;
          if (isRowError(r)) sink.error(r);
          else sink.record(r);
        }
        return;
      } catch {
        /* not JSONL either: report the original error */
      }
    }
    const why = e instanceof Error ? e.message : String(e);
    const pos = jsonErrorOffset(text);
    const at = pos >= 0 ? (({ line, column }) => ` at line ${line}, column ${column}`)(lineColumn(text, pos)) : '';
    sink.fileError({ code: 'invalid-json', message: `the file is not valid JSON${at}: ${why}` });
    return;
  }
  let list: unknown[];
  if (Array.isArray(doc)) list = doc;
  else if (typeof doc === 'object' && doc !== null) {
    const obj = doc as Record<string, unknown>;
    const arrays = Object.keys(obj).filter((k) => Array.isArray(obj[k]));
    const key = arrays.length === 1 ? arrays[0] : arrays.find((k) => ARRAY_KEYS.includes(k.toLowerCase()));
    if (key !== undefined) list = obj[key] as unknown[];
    else if (arrays.length === 0 && ('messages' in obj || 'conversations' in obj || 'text' in obj || 'prompt' in obj || 'instruction' in obj)) list = [obj];
    else {
      const which = arrays.length ? `it holds several arrays (${arrays.join(', ')}); expected one` : 'it holds no array';
      sink.fileError({ code: 'not-an-array', message: `the JSON file must be an array of examples or an object holding one array; ${which}` });
      return;
    }
  } else {
    sink.fileError({ code: 'not-an-array', message: `the JSON file must be an array of examples, got ${doc === null ? 'null' : typeof doc}` });
    return;
  }
  list.forEach((value, row) => sink.record({ row, value }));
}

/** CSV/TSV with a header row; every cell is a string. Line numbers are tracked for errors. */
async function readDelimited(input: DatasetInput, type: 'csv' | 'tsv', sink: RecordSink, opts: ReadOptions): Promise<void> {
  const { text, invalidUtf8, sniff } = await readAllText(input, { signal: opts.signal, onBytes: (n) => sink.progress(n) });
  if (sniff.looksBinary) sink.fileError(BINARY_HINT);
  if (invalidUtf8) sink.fileError({ code: 'unreadable', message: 'the file is not valid UTF-8; invalid bytes were replaced by U+FFFD' });
  if (text.trim() === '') return;
  let row = 0;
  let pos = 0; // characters scanned so far
  let newlines = 0; // '\n' in text[0, pos)
  let aborted = false;
  Papa.parse<Record<string, unknown>>(text, {
    header: true,
    delimiter: opts.delimiter ?? (type === 'tsv' ? '\t' : ''),
    skipEmptyLines: 'greedy',
    step(results, parser) {
      if (opts.signal?.aborted) {
        aborted = true;
        parser.abort();
        return;
      }
      // meta.cursor is just past the row's line break. The row's first line is the line of its
      // last character minus the line breaks inside its (quoted) fields.
      let end = results.meta.cursor;
      while (end > pos && (text[end - 1] === '\n' || text[end - 1] === '\r')) end--;
      for (let j = text.indexOf('\n', pos); j >= 0 && j < end; j = text.indexOf('\n', j + 1)) newlines++;
      pos = Math.max(pos, end);
      const inner = countNewlines(results.data);
      const rowLine = newlines + 1 - inner;
      if (results.errors.length > 0) {
        const why = results.errors.map((e) => e.message).join('; ');
        sink.error({ code: 'csv-syntax', row, line: rowLine, message: `line ${rowLine}: ${why}` });
      } else {
        sink.record({ row, line: rowLine, value: results.data });
      }
      row++;
    },
  });
  if (aborted && opts.signal) throw abortError(opts.signal);
}

function countNewlines(v: unknown): number {
  if (typeof v === 'string') {
    let n = 0;
    for (let i = v.indexOf('\n'); i >= 0; i = v.indexOf('\n', i + 1)) n++;
    return n;
  }
  if (Array.isArray(v)) return v.reduce((a: number, x) => a + countNewlines(x), 0);
  if (v && typeof v === 'object') return countNewlines(Object.values(v));
  return 0;
}

/** Parquet through hyparquet (pure JS), read in row ranges so progress and abort work. */
async function readParquet(input: DatasetInput, sink: RecordSink, opts: ReadOptions): Promise<void> {
  const size = inputSize(input);
  const file: AsyncBuffer = {
    byteLength: size,
    slice: async (start: number, end?: number) => {
      const bytes = await readRange(input, start, end ?? size);
      return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? (bytes.buffer as ArrayBuffer)
        : (bytes.slice().buffer as ArrayBuffer);
    },
  };
  let rows = 0;
  try {
    const metadata = await parquetMetadataAsync(file);
    const total = Number(metadata.num_rows);
    const step = 4096;
    for (let start = 0; start < total; start += step) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const objects = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: Math.min(total, start + step) });
      for (const value of objects) sink.record({ row: rows++, value: jsonSafe(value) });
      sink.progress(Math.round((size * Math.min(total, start + step)) / total));
    }
  } catch (e) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    sink.fileError({ code: 'parquet', message: `could not read the parquet file after ${rows} rows: ${e instanceof Error ? e.message : String(e)}` });
  }
}

/** BigInts from parquet int64 columns become numbers (or strings when too large) so records stay JSON-like. */
function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x);
    return out;
  }
  return v;
}
