// Property tests: whatever bytes or text arrive, parseDataset resolves with records or row/file
// errors, never throws, and accounts for every non-blank line of a JSONL file.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseDataset } from './parse';
import type { ParseResult } from './parse';
import type { FileType } from './types';

const TYPES: FileType[] = ['jsonl', 'json', 'csv', 'tsv', 'parquet'];

function checkShape(r: ParseResult) {
  expect(Array.isArray(r.examples)).toBe(true);
  expect(r.errorCount).toBeGreaterThanOrEqual(r.errors.length);
  for (const e of r.errors) {
    expect(typeof e.message).toBe('string');
    expect(e.row).toBeGreaterThanOrEqual(0);
  }
  for (const ex of r.examples) {
    expect(ex.messages.length).toBeGreaterThan(0);
    for (const m of ex.messages) expect(typeof m.content).toBe('string');
  }
}

/** Strings that look a bit like our inputs, to reach deeper than pure noise does. */
const datasetLike = fc.oneof(
  fc.string(),
  fc.array(
    fc.oneof(
      fc.json(),
      fc.constantFrom('{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}', '{"text":"x"}', '{"prompt":"p","completion":"c"}', '', '\r', '\uFEFF', '"a,b"', 'a\tb'),
      fc.string(),
    ),
    { maxLength: 12 },
  ).map((parts) => parts.join('\n')),
);

describe('parsers never throw', () => {
  it('on arbitrary bytes, for every container type', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.constantFrom(...TYPES), async (bytes, fileType) => {
        checkShape(await parseDataset(bytes, { fileType }));
      }),
      { numRuns: 400 },
    );
  });

  it('on dataset-like text, for every container type and format override', async () => {
    await fc.assert(
      fc.asyncProperty(
        datasetLike,
        fc.constantFrom(...TYPES),
        fc.constantFrom(undefined, 'chat', 'sharegpt', 'alpaca', 'completion', 'text' as const),
        async (text, fileType, format) => {
          checkShape(await parseDataset(new TextEncoder().encode(text), { fileType, format }));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('JSONL: every non-blank line becomes exactly one example or at least one error of that line', async () => {
    await fc.assert(
      fc.asyncProperty(datasetLike, async (text) => {
        const r = await parseDataset(new TextEncoder().encode(text), { fileType: 'jsonl', format: 'text' });
        const lines = text.replace(/^\uFEFF/, '').split('\n');
        const nonBlank = lines.map((l, i) => (l.replace(/\r$/, '').trim() === '' ? 0 : i + 1)).filter((n) => n > 0);
        const exampleLines = r.examples.map((e) => e.line);
        const errorLines = [...new Set(r.errors.map((e) => e.line))];
        expect([...exampleLines, ...errorLines].sort((a, b) => a! - b!)).toEqual(nonBlank);
        expect(r.recordCount).toBe(nonBlank.length);
      }),
      { numRuns: 400 },
    );
  });
});
