// Parquet input. hyparquet-writer is not installed, so the test writes a minimal but real parquet
// file itself (format spec: github.com/apache/parquet-format): one row group, REQUIRED or OPTIONAL
// UTF-8 BYTE_ARRAY columns, PLAIN encoding, uncompressed v1 data pages, thrift compact metadata.
import { describe, expect, it } from 'vitest';
import { parseDataset } from './parse';

/** Thrift compact protocol, just the parts parquet metadata needs. */
class Compact {
  bytes: number[] = [];
  private last: number[] = [0];
  varint(n: bigint | number) {
    let v = BigInt(n);
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      this.bytes.push(b);
    } while (v > 0n);
  }
  zigzag(n: number) {
    const v = BigInt(n);
    this.varint(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  }
  field(id: number, type: number) {
    const delta = id - this.last[this.last.length - 1];
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type);
    else {
      this.bytes.push(type);
      this.zigzag(id);
    }
    this.last[this.last.length - 1] = id;
  }
  i32(id: number, v: number) {
    this.field(id, 5);
    this.zigzag(v);
  }
  i64(id: number, v: number) {
    this.field(id, 6);
    this.zigzag(v);
  }
  str(id: number, s: string) {
    this.field(id, 8);
    const b = new TextEncoder().encode(s);
    this.varint(b.length);
    this.bytes.push(...b);
  }
  begin(id: number) {
    this.field(id, 12);
    this.last.push(0);
  }
  end() {
    this.bytes.push(0);
    this.last.pop();
  }
  list(id: number, elemType: number, n: number) {
    this.field(id, 9);
    if (n < 15) this.bytes.push((n << 4) | elemType);
    else {
      this.bytes.push(0xf0 | elemType);
      this.varint(n);
    }
  }
  /** A struct as a list element (no field header). */
  elem(write: () => void) {
    this.last.push(0);
    write();
    this.end();
  }
}

type Column = { name: string; values: Array<string | null> };

/** RLE/bit-packed hybrid definition levels (bit width 1), as one bit-packed run, length-prefixed. */
function defLevels(values: Array<string | null>): number[] {
  const groups = Math.ceil(values.length / 8);
  const out = [];
  const header = (groups << 1) | 1;
  const run: number[] = [];
  let h = header;
  do {
    let b = h & 0x7f;
    h >>= 7;
    if (h > 0) b |= 0x80;
    run.push(b);
  } while (h > 0);
  for (let g = 0; g < groups; g++) {
    let byte = 0;
    for (let k = 0; k < 8; k++) if (values[g * 8 + k] != null && g * 8 + k < values.length) byte |= 1 << k;
    run.push(byte);
  }
  out.push(run.length & 0xff, (run.length >> 8) & 0xff, (run.length >> 16) & 0xff, run.length >>> 24, ...run);
  return out;
}

function writeParquet(columns: Column[], optional: boolean): Uint8Array {
  const n = columns[0].values.length;
  const file: number[] = [...new TextEncoder().encode('PAR1')];
  const chunks: Array<{ offset: number; size: number }> = [];
  for (const col of columns) {
    const data: number[] = optional ? defLevels(col.values) : [];
    for (const v of col.values) {
      if (v === null) continue;
      const b = new TextEncoder().encode(v);
      data.push(b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24, ...b);
    }
    const ph = new Compact();
    ph.i32(1, 0); // DATA_PAGE
    ph.i32(2, data.length);
    ph.i32(3, data.length);
    ph.begin(5); // DataPageHeader
    ph.i32(1, n);
    ph.i32(2, 0); // PLAIN
    ph.i32(3, 3); // RLE
    ph.i32(4, 3);
    ph.end();
    ph.bytes.push(0);
    chunks.push({ offset: file.length, size: ph.bytes.length + data.length });
    file.push(...ph.bytes, ...data);
  }
  const md = new Compact();
  md.i32(1, 1);
  md.list(2, 12, columns.length + 1);
  md.elem(() => {
    md.str(4, 'schema');
    md.i32(5, columns.length);
  });
  for (const col of columns) {
    md.elem(() => {
      md.i32(1, 6); // BYTE_ARRAY
      md.i32(3, optional ? 1 : 0); // OPTIONAL / REQUIRED
      md.str(4, col.name);
      md.i32(6, 0); // converted type UTF8
    });
  }
  md.i64(3, n);
  md.list(4, 12, 1);
  md.elem(() => {
    md.list(1, 12, columns.length);
    columns.forEach((col, i) =>
      md.elem(() => {
        md.i64(2, chunks[i].offset);
        md.begin(3);
        md.i32(1, 6);
        md.list(2, 5, 1);
        md.zigzag(0); // PLAIN
        md.list(3, 8, 1);
        const name = new TextEncoder().encode(col.name);
        md.varint(name.length);
        md.bytes.push(...name);
        md.i32(4, 0); // UNCOMPRESSED
        md.i64(5, n);
        md.i64(6, chunks[i].size);
        md.i64(7, chunks[i].size);
        md.i64(9, chunks[i].offset);
        md.end();
      }),
    );
    md.i64(2, chunks.reduce((s, c) => s + c.size, 0));
    md.i64(3, n);
  });
  md.bytes.push(0);
  const len = md.bytes.length;
  file.push(...md.bytes, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, len >>> 24, ...new TextEncoder().encode('PAR1'));
  return Uint8Array.from(file);
}

describe('parquet', () => {
  it('reads rows of a real parquet file and detects the format', async () => {
    const file = writeParquet(
      [
        { name: 'prompt', values: ['2+2=', 'Capital of France?', 'héllo 😀'] },
        { name: 'completion', values: [' 4', ' Paris', ' bonjour'] },
      ],
      false,
    );
    const r = await parseDataset(file, { fileName: 'train.parquet' });
    expect(r.fileErrors).toEqual([]);
    expect(r.format).toBe('completion');
    expect(r.examples.map((e) => [e.row, e.messages[0].content, e.messages[1].content])).toEqual([
      [0, '2+2=', ' 4'],
      [1, 'Capital of France?', ' Paris'],
      [2, 'héllo 😀', ' bonjour'],
    ]);
  });

  it('preference pairs: string columns, and conversations held as JSON text; a null side is a row error', async () => {
    const conv = (reply: string) => JSON.stringify([{ role: 'user', content: 'Sky?' }, { role: 'assistant', content: reply }]);
    const file = writeParquet(
      [
        { name: 'chosen', values: [conv('Blue.'), conv('Grey.'), null] },
        { name: 'rejected', values: [conv('Green.'), conv('Grey?'), conv('Red.')] },
      ],
      true,
    );
    const r = await parseDataset(file, { fileName: 'pairs.parquet' });
    expect(r.fileErrors).toEqual([]);
    expect(r.format).toBe('preference');
    expect(r.examples.map((e) => (e.kind === 'preference' ? [e.row, e.messages[0].content, e.chosen[0].content, e.rejected[0].content] : e.kind))).toEqual([
      [0, 'Sky?', 'Blue.', 'Green.'],
      [1, 'Sky?', 'Grey.', 'Grey?'],
    ]);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'missing-field', row: 2, field: 'chosen' })]);
  });

  it('nulls in an optional column become row errors; columns can be mapped', async () => {
    const file = writeParquet(
      [
        { name: 'q', values: ['a', null, 'c', 'd', 'e', 'f', 'g', 'h', 'i'] },
        { name: 'a', values: ['A', 'B', null, 'D', 'E', 'F', 'G', 'H', 'I'] },
      ],
      true,
    );
    const r = await parseDataset(file, { fileName: 'x.parquet', mapping: { format: 'completion', prompt: 'q', completion: 'a' } });
    expect(r.fileErrors).toEqual([]);
    expect(r.examples.map((e) => e.row)).toEqual([0, 3, 4, 5, 6, 7, 8]);
    expect(r.errors).toEqual([
      expect.objectContaining({ code: 'missing-field', row: 1, field: 'q' }),
      expect.objectContaining({ code: 'missing-field', row: 2, field: 'a' }),
    ]);
  });

  it('a truncated or corrupt parquet file is a file error, not a crash', async () => {
    const file = writeParquet([{ name: 'text', values: ['x', 'y'] }], false);
    for (const bad of [file.subarray(0, file.length - 9), file.subarray(4), new Uint8Array([1, 2, 3])]) {
      const r = await parseDataset(bad, { fileName: 'x.parquet' });
      expect(r.examples).toEqual([]);
      expect(r.fileErrors[0].code).toBe('parquet');
    }
  });
});
