// Byte input for the parsers: Uint8Array, ArrayBuffer or a Blob/File, read in chunks so a large
// file is never one string; text encoding detection (BOM, UTF-16); a line splitter over byte
// chunks with a bound on line length. Worker-safe: no Node APIs.

/** What the parsers accept: raw bytes, or anything Blob-like (File in the browser, Blob in Node). */
export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}
export type DatasetInput = Uint8Array | ArrayBuffer | BlobLike;

/** Chunk size for streaming reads: large enough to be fast, small enough to keep memory flat. */
export const READ_CHUNK_BYTES = 1 << 20;

/** A single line longer than this is reported as an error and skipped, not buffered. */
export const MAX_LINE_BYTES = 16 << 20;

export function inputSize(input: DatasetInput): number {
  if (input instanceof Uint8Array) return input.byteLength;
  if (input instanceof ArrayBuffer) return input.byteLength;
  return input.size;
}

/** Reads `[start, end)` of the input. */
export async function readRange(input: DatasetInput, start: number, end: number): Promise<Uint8Array> {
  if (input instanceof Uint8Array) return input.subarray(start, end);
  if (input instanceof ArrayBuffer) return new Uint8Array(input, start, Math.max(0, Math.min(end, input.byteLength) - start));
  return new Uint8Array(await input.slice(start, end).arrayBuffer());
}

export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/** Yields the input in chunks of `chunkBytes`, checking the abort signal between chunks. */
export async function* readChunks(
  input: DatasetInput,
  opts: { start?: number; chunkBytes?: number; signal?: AbortSignal } = {},
): AsyncGenerator<Uint8Array> {
  const size = inputSize(input);
  const step = opts.chunkBytes ?? READ_CHUNK_BYTES;
  for (let pos = opts.start ?? 0; pos < size; pos += step) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    yield await readRange(input, pos, Math.min(size, pos + step));
  }
}

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

export interface EncodingSniff {
  encoding: TextEncoding;
  /** Bytes to skip at the start (the byte-order mark). */
  bomBytes: number;
  /** NUL bytes in a UTF-8 head: the file is most likely binary, not text. */
  looksBinary: boolean;
}

/** Looks at the first bytes: byte-order marks, and NULs that betray a binary file. */
export function sniffEncoding(head: Uint8Array): EncodingSniff {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bomBytes: 3, looksBinary: hasNul(head) };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bomBytes: 2, looksBinary: false };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bomBytes: 2, looksBinary: false };
  return { encoding: 'utf-8', bomBytes: 0, looksBinary: hasNul(head) };
}

function hasNul(b: Uint8Array): boolean {
  return b.indexOf(0) >= 0;
}

/** Decodes the whole input to one string (for formats that need it: JSON arrays, CSV). */
export async function readAllText(
  input: DatasetInput,
  opts: { signal?: AbortSignal; onBytes?: (bytesRead: number) => void } = {},
): Promise<{ text: string; invalidUtf8: boolean; sniff: EncodingSniff }> {
  const sniff = sniffEncoding(await readRange(input, 0, Math.min(inputSize(input), 4096)));
  const strict = new TextDecoder(sniff.encoding, { fatal: true, ignoreBOM: true });
  const lossy = new TextDecoder(sniff.encoding, { fatal: false, ignoreBOM: true });
  const parts: string[] = [];
  let invalidUtf8 = false;
  let read = sniff.bomBytes;
  for await (const chunk of readChunks(input, { start: sniff.bomBytes, signal: opts.signal })) {
    read += chunk.byteLength;
    if (!invalidUtf8) {
      try {
        parts.push(strict.decode(chunk, { stream: true }));
      } catch {
        // Restart lossily from the beginning: simplest way to keep the already-decoded prefix consistent.
        invalidUtf8 = true;
      }
    }
    opts.onBytes?.(read);
  }
  if (!invalidUtf8) {
    try {
      parts.push(strict.decode());
    } catch {
      invalidUtf8 = true;
    }
  }
  if (invalidUtf8) {
    parts.length = 0;
    for await (const chunk of readChunks(input, { start: sniff.bomBytes, signal: opts.signal })) parts.push(lossy.decode(chunk, { stream: true }));
    parts.push(lossy.decode());
  }
  return { text: parts.join(''), invalidUtf8, sniff };
}

/** One line of a byte stream: its bytes without the line break, or a marker that it was too long. */
export interface ByteLine {
  /** 1-based line number. */
  line: number;
  bytes: Uint8Array | null;
  /** Set when the line exceeded MAX_LINE_BYTES; `bytes` is then null. */
  tooLongBytes?: number;
}

/**
 * Splits byte chunks into lines at LF (also handles CRLF: the CR is dropped). Splitting bytes, not
 * text, is safe for UTF-8 because 0x0A never occurs inside a multi-byte sequence. Memory holds at
 * most one line (bounded by maxLineBytes) plus one chunk.
 */
export class LineSplitter {
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  private skipping = 0; // > 0 while discarding an over-long line: its byte count so far
  private lineNo = 0;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  /** Feeds one chunk; returns the lines it completed. */
  push(chunk: Uint8Array): ByteLine[] {
    const out: ByteLine[] = [];
    let start = 0;
    while (start <= chunk.byteLength) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.byteLength : nl;
      this.append(chunk.subarray(start, end));
      if (nl < 0) break;
      out.push(this.finishLine());
      start = nl + 1;
    }
    return out;
  }

  /** Flushes the last line (a file need not end with a newline). */
  end(): ByteLine[] {
    if (this.partBytes === 0 && this.skipping === 0) return [];
    return [this.finishLine()];
  }

  private append(piece: Uint8Array): void {
    if (piece.byteLength === 0) return;
    if (this.skipping > 0) {
      this.skipping += piece.byteLength;
      return;
    }
    if (this.partBytes + piece.byteLength > this.maxLineBytes) {
      this.skipping = this.partBytes + piece.byteLength;
      this.parts = [];
      this.partBytes = 0;
      return;
    }
    // Copy: the chunk's buffer may be reused or released by the reader.
    this.parts.push(piece.slice());
    this.partBytes += piece.byteLength;
  }

  private finishLine(): ByteLine {
    this.lineNo++;
    if (this.skipping > 0) {
      const line: ByteLine = { line: this.lineNo, bytes: null, tooLongBytes: this.skipping };
      this.skipping = 0;
      return line;
    }
    let bytes: Uint8Array;
    if (this.parts.length === 1) bytes = this.parts[0];
    else {
      bytes = new Uint8Array(this.partBytes);
      let o = 0;
      for (const p of this.parts) {
        bytes.set(p, o);
        o += p.byteLength;
      }
    }
    this.parts = [];
    this.partBytes = 0;
    if (bytes.byteLength > 0 && bytes[bytes.byteLength - 1] === 0x0d) bytes = bytes.subarray(0, bytes.byteLength - 1);
    return { line: this.lineNo, bytes };
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Decodes one line; on invalid UTF-8 returns the 1-based column of the first bad character. */
export function decodeUtf8Line(bytes: Uint8Array): { text: string } | { badColumn: number } {
  try {
    return { text: strictUtf8.decode(bytes) };
  } catch {
    const lossy = lossyUtf8.decode(bytes);
    return { badColumn: lossy.indexOf('\uFFFD') + 1 };
  }
}
