import { describe, expect, it } from 'vitest';
import { parseDataset, selectTrainingExamples, DatasetNotReadyError, MIN_RECOMMENDED_EXAMPLES, MAX_LISTED_ERRORS } from './parse';
import type { ParseResult } from './parse';

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n');

function chatRow(i: number) {
  return { messages: [{ role: 'user', content: `question ${i}` }, { role: 'assistant', content: `answer ${i}` }] };
}

function codes(r: ParseResult) {
  return r.errors.map((e) => e.code);
}

describe('formats', () => {
  it('chat messages, multi-turn with system', async () => {
    const r = await parseDataset(
      bytes(
        jsonl([
          {
            messages: [
              { role: 'system', content: 'Be terse.' },
              { role: 'user', content: 'Hi' },
              { role: 'assistant', content: 'Hello.' },
              { role: 'user', content: 'Bye' },
              { role: 'assistant', content: 'Bye.' },
            ],
          },
        ]),
      ),
      { fileName: 'a.jsonl' },
    );
    expect(r.format).toBe('chat');
    expect(r.errors).toEqual([]);
    expect(r.examples).toHaveLength(1);
    expect(r.examples[0]).toMatchObject({ kind: 'chat', row: 0, line: 1 });
    expect(r.examples[0].messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant']);
  });

  it('ShareGPT conversations map human/gpt/system', async () => {
    const r = await parseDataset(
      bytes(jsonl([{ conversations: [{ from: 'system', value: 'S' }, { from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] }])),
      { fileName: 'a.jsonl' },
    );
    expect(r.format).toBe('sharegpt');
    expect(r.examples[0].messages).toEqual([
      { role: 'system', content: 'S' },
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: 'A' },
    ]);
  });

  it('Alpaca with and without input', async () => {
    const r = await parseDataset(
      bytes(jsonl([{ instruction: 'Add', input: '2 and 3', output: '5' }, { instruction: 'Say hi', input: '', output: 'hi' }, { instruction: 'X', output: 'Y' }])),
      { fileName: 'a.jsonl' },
    );
    expect(r.format).toBe('alpaca');
    expect(r.errors).toEqual([]);
    expect(r.examples[0].messages).toEqual([
      { role: 'user', content: 'Add\n\n2 and 3' },
      { role: 'assistant', content: '5' },
    ]);
    expect(r.examples[1].messages[0].content).toBe('Say hi');
    expect(r.examples[2].messages[0].content).toBe('X');
  });

  it('prompt/completion and text', async () => {
    const pc = await parseDataset(bytes(jsonl([{ prompt: 'P', completion: 'C' }])), { fileName: 'a.jsonl' });
    expect(pc.format).toBe('completion');
    expect(pc.examples[0]).toMatchObject({ kind: 'completion', messages: [{ role: 'user', content: 'P' }, { role: 'assistant', content: 'C' }] });
    const tx = await parseDataset(bytes(jsonl([{ text: 'hello world' }])), { fileName: 'a.jsonl' });
    expect(tx.format).toBe('text');
    expect(tx.examples[0]).toMatchObject({ kind: 'text', messages: [{ role: 'assistant', content: 'hello world' }] });
  });

  it('format override and unknown keys needing a mapping', async () => {
    const data = bytes(jsonl([{ q: 'a?', a: 'b.' }, { q: 'c?', a: 'd.' }]));
    const unknown = await parseDataset(data, { fileName: 'x.jsonl' });
    expect(unknown.format).toBeNull();
    expect(unknown.examples).toEqual([]);
    expect(unknown.detection?.keys).toEqual(['a', 'q']);
    expect(unknown.warnings.map((w) => w.code)).toContain('needs-mapping');
    expect(() => selectTrainingExamples(unknown)).toThrow(DatasetNotReadyError);

    const mapped = await parseDataset(data, { fileName: 'x.jsonl', mapping: { format: 'completion', prompt: 'q', completion: 'a' } });
    expect(mapped.format).toBe('completion');
    expect(mapped.examples.map((e) => e.messages[1].content)).toEqual(['b.', 'd.']);

    // A file with a "text" key, forced to be read as prompt/completion, reports the missing fields.
    const forced = await parseDataset(bytes(jsonl([{ text: 't' }])), { fileName: 'x.jsonl', format: 'completion' });
    expect(forced.format).toBe('completion');
    expect(codes(forced)).toEqual(['missing-field', 'missing-field']);
  });

  it('chat mapping with custom keys, nested path and role map', async () => {
    const r = await parseDataset(bytes(jsonl([{ d: { turns: [{ who: 'q', say: 'hi' }, { who: 'bot', say: 'yo' }] } }])), {
      fileName: 'x.jsonl',
      mapping: { format: 'chat', messages: 'd.turns', role: 'who', content: 'say', roleMap: { q: 'user', bot: 'assistant' } },
    });
    expect(r.errors).toEqual([]);
    expect(r.examples[0].messages).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'yo' },
    ]);
  });
});

describe('validation errors carry row, line, field and what was expected', () => {
  it('each error class', async () => {
    const lines = [
      JSON.stringify(chatRow(0)), // line 1 ok
      '{"messages": [', // line 2 invalid JSON
      '', // line 3 blank: skipped, not a row
      JSON.stringify({ messages: [{ role: 'user', content: 'q' }] }), // line 4 no assistant
      JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'bot', content: 'a' }] }), // line 5 unknown role
      JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 42 }] }), // line 6 non-string
      JSON.stringify({ messages: [{ role: 'user', content: '  ' }, { role: 'assistant', content: 'a' }] }), // line 7 empty
      JSON.stringify({ messages: [{ role: 'user' }, { role: 'assistant', content: 'a' }] }), // line 8 missing content
      JSON.stringify({ messages: 'hello' }), // line 9 not an array
      JSON.stringify({ messages: [] }), // line 10 empty conversation
      JSON.stringify([1, 2]), // line 11 not an object
      JSON.stringify({ messages: ['x', { role: 'assistant', content: 'a' }] }), // line 12 message not an object
    ];
    const r = await parseDataset(bytes(lines.join('\n')), { fileName: 'a.jsonl', format: 'chat' });
    const byLine = new Map(r.errors.map((e) => [e.line, e]));
    expect(r.examples.map((e) => e.line)).toEqual([1]);
    expect(byLine.get(2)).toMatchObject({ code: 'invalid-json', row: 1 });
    expect(byLine.get(4)).toMatchObject({ code: 'no-assistant-turn', row: 2, field: 'messages' });
    expect(byLine.get(5)).toMatchObject({ code: 'unknown-role', row: 3, field: 'messages[1].role' });
    expect(byLine.get(5)!.message).toContain('expected one of system, user, assistant');
    expect(byLine.get(6)).toMatchObject({ code: 'not-a-string', field: 'messages[1].content' });
    expect(byLine.get(6)!.message).toMatch(/line 6: .*must be a string, got a number/);
    expect(byLine.get(7)).toMatchObject({ code: 'empty-field', field: 'messages[0].content' });
    expect(byLine.get(8)).toMatchObject({ code: 'missing-field', field: 'messages[0].content' });
    expect(byLine.get(9)).toMatchObject({ code: 'not-an-array', field: 'messages' });
    expect(byLine.get(10)).toMatchObject({ code: 'empty-conversation' });
    expect(byLine.get(11)).toMatchObject({ code: 'not-an-object' });
    expect(byLine.get(12)).toMatchObject({ code: 'not-an-object', field: 'messages[0]' });
    expect(r.recordCount).toBe(11);
    expect(r.invalidRowCount).toBe(10);
  });

  it('several problems in one row are all reported', async () => {
    const r = await parseDataset(bytes(jsonl([{ instruction: 3, output: '' }])), { fileName: 'a.jsonl' });
    expect(codes(r).sort()).toEqual(['empty-field', 'not-a-string']);
    expect(r.invalidRowCount).toBe(1);
  });

  it('invalid rows are excluded only with consent; duplicates offered for removal', async () => {
    const rows: unknown[] = [chatRow(0), chatRow(1), chatRow(0), { messages: 5 }, chatRow(1), chatRow(0)];
    const r = await parseDataset(bytes(jsonl(rows)), { fileName: 'a.jsonl' });
    expect(r.examples).toHaveLength(5);
    expect(r.duplicates).toEqual([
      { first: 0, duplicates: [2, 5] },
      { first: 1, duplicates: [4] },
    ]);
    expect(r.warnings.map((w) => w.code)).toContain('duplicates');
    expect(() => selectTrainingExamples(r)).toThrow(/1 invalid row/);
    expect(selectTrainingExamples(r, { excludeInvalid: true })).toHaveLength(5);
    expect(selectTrainingExamples(r, { excludeInvalid: true, removeDuplicates: true }).map((e) => e.row)).toEqual([0, 1]);
  });

  it('the seed rule warns below MIN_RECOMMENDED_EXAMPLES good examples, with the count', async () => {
    expect(MIN_RECOMMENDED_EXAMPLES).toBe(200);
    const few = await parseDataset(bytes(jsonl(Array.from({ length: 199 }, (_, i) => chatRow(i)))), { fileName: 'a.jsonl' });
    const w = few.warnings.find((x) => x.code === 'few-examples');
    expect(w?.message).toContain('only 199 good examples');
    expect(w?.message).toMatch(/prompting/);
    expect(w?.message).toMatch(/RAG/);
    const enough = await parseDataset(bytes(jsonl(Array.from({ length: 200 }, (_, i) => chatRow(i)))), { fileName: 'a.jsonl' });
    expect(enough.warnings.map((x) => x.code)).not.toContain('few-examples');
    // Duplicates do not count as good examples.
    const dup = await parseDataset(bytes(jsonl(Array.from({ length: 250 }, (_, i) => chatRow(i % 100)))), { fileName: 'a.jsonl' });
    expect(dup.warnings.find((x) => x.code === 'few-examples')?.message).toContain('only 100 good');
  });

  it('the listed errors are capped but counted', async () => {
    const r = await parseDataset(bytes(Array.from({ length: MAX_LISTED_ERRORS + 50 }, () => 'nope').join('\n')), { fileName: 'a.jsonl' });
    expect(r.errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(r.errorCount).toBe(MAX_LISTED_ERRORS + 50);
    expect(r.warnings.map((w) => w.code)).toContain('errors-truncated');
  });
});

describe('encodings and line handling', () => {
  it('BOM, CRLF, blank lines, no final newline', async () => {
    const text = '\uFEFF' + JSON.stringify(chatRow(0)) + '\r\n\r\n  \r\n' + JSON.stringify(chatRow(1));
    const r = await parseDataset(bytes(text), { fileName: 'a.jsonl' });
    expect(r.errors).toEqual([]);
    expect(r.examples.map((e) => [e.row, e.line])).toEqual([
      [0, 1],
      [1, 4],
    ]);
    expect(r.examples[1].messages[1].content).toBe('answer 1');
  });

  it('UTF-16 with BOM is decoded', async () => {
    const text = jsonl([chatRow(0), { messages: [{ role: 'user', content: 'héllo 😀' }, { role: 'assistant', content: 'ok' }] }]);
    const u16 = new Uint8Array(2 + text.length * 2);
    u16[0] = 0xff;
    u16[1] = 0xfe;
    for (let i = 0; i < text.length; i++) {
      u16[2 + 2 * i] = text.charCodeAt(i) & 0xff;
      u16[3 + 2 * i] = text.charCodeAt(i) >> 8;
    }
    const r = await parseDataset(u16, { fileName: 'a.jsonl' });
    expect(r.errors).toEqual([]);
    expect(r.examples[1].messages[0].content).toBe('héllo 😀');
  });

  it('invalid UTF-8 is reported with line and column; binary garbage is flagged', async () => {
    const good = bytes(JSON.stringify(chatRow(0)) + '\n');
    const bad = new Uint8Array([...bytes('{"text": "ab'), 0xff, 0xfe, ...bytes('"}\n')]);
    const r = await parseDataset(new Uint8Array([...good, ...bad, ...good]), { fileName: 'a.jsonl' });
    expect(r.examples.map((e) => e.line)).toEqual([1, 3]);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'invalid-utf8', line: 2, row: 1 })]);
    expect(r.errors[0].message).toContain('column 13');

    const garbage = new Uint8Array(5000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) % 256;
    const g = await parseDataset(garbage, { fileName: 'a.jsonl' });
    expect(g.fileErrors.map((e) => e.code)).toContain('binary');
    expect(g.examples).toEqual([]);
    expect(g.errorCount).toBeGreaterThan(0);
  });

  it('a line longer than the limit is an error, not a crash, and does not disturb neighbours', async () => {
    const { MAX_LINE_BYTES } = await import('./bytes');
    const long = '{"text":"' + 'x'.repeat(MAX_LINE_BYTES + 10) + '"}';
    const data = bytes(JSON.stringify(chatRow(0)) + '\n' + long + '\n' + JSON.stringify(chatRow(1)));
    const r = await parseDataset(data, { fileName: 'a.jsonl' });
    expect(r.examples.map((e) => e.line)).toEqual([1, 3]);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'line-too-long', line: 2 })]);
  });

  it('streams a Blob in chunks with progress and honours abort', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => chatRow(i));
    const blob = new Blob([jsonl(rows)]);
    const seen: number[] = [];
    const { READ_CHUNK_BYTES } = await import('./bytes');
    const r = await parseDataset(blob, { fileName: 'big.jsonl', onProgress: (p) => seen.push(p.bytesRead) });
    expect(r.examples).toHaveLength(3000);
    expect(r.examples[2999].line).toBe(3000);
    expect(seen[seen.length - 1]).toBe(blob.size);
    expect(seen.length).toBeGreaterThanOrEqual(Math.ceil(blob.size / READ_CHUNK_BYTES));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);

    const ac = new AbortController();
    ac.abort();
    await expect(parseDataset(blob, { fileName: 'big.jsonl', signal: ac.signal })).rejects.toThrow(/abort/i);
  });

  it('line splitting is independent of chunk boundaries (multi-byte characters split across chunks)', async () => {
    const { LineSplitter, decodeUtf8Line } = await import('./bytes');
    const text = 'é😀a\r\nb\n\nçç😀\n';
    const data = bytes(text);
    for (let chunk = 1; chunk <= 7; chunk++) {
      const s = new LineSplitter();
      const lines: string[] = [];
      for (let i = 0; i < data.length; i += chunk) {
        for (const l of s.push(data.subarray(i, i + chunk))) lines.push((decodeUtf8Line(l.bytes!) as { text: string }).text);
      }
      for (const l of s.end()) lines.push((decodeUtf8Line(l.bytes!) as { text: string }).text);
      expect(lines).toEqual(['é😀a', 'b', '', 'çç😀']);
    }
  });
});

describe('JSON files', () => {
  it('an array, or an object holding one array', async () => {
    const arr = await parseDataset(bytes(JSON.stringify([chatRow(0), chatRow(1)])), { fileName: 'a.json' });
    expect(arr.examples.map((e) => e.row)).toEqual([0, 1]);
    const obj = await parseDataset(bytes(JSON.stringify({ version: 2, data: [chatRow(0)] })), { fileName: 'a.json' });
    expect(obj.examples).toHaveLength(1);
    const two = await parseDataset(bytes(JSON.stringify({ a: [1], b: [2] })), { fileName: 'a.json' });
    expect(two.fileErrors[0].code).toBe('not-an-array');
  });

  it('invalid JSON names line and column; JSONL saved as .json is read as JSONL with a warning', async () => {
    const bad = await parseDataset(bytes('[\n  {"text": "a"},\n  {"text": }\n]'), { fileName: 'a.json' });
    expect(bad.fileErrors[0].code).toBe('invalid-json');
    expect(bad.fileErrors[0].message).toMatch(/line 3/);
    const jl = await parseDataset(bytes(jsonl([chatRow(0), chatRow(1)])), { fileName: 'a.json' });
    expect(jl.examples).toHaveLength(2);
    expect(jl.warnings.map((w) => w.code)).toContain('read-as-jsonl');
  });
});

describe('CSV / TSV with column mapping', () => {
  it('maps columns to fields and reports line numbers, also after quoted multi-line cells', async () => {
    const csv = 'question,answer,notes\r\n"What is 2+2?",4,x\r\n"Multi\r\nline",yes,y\r\n\r\nshort\r\n"",empty,z\r\n';
    const r = await parseDataset(bytes(csv), { fileName: 'a.csv', mapping: { format: 'completion', prompt: 'question', completion: 'answer' } });
    expect(r.examples.map((e) => [e.line, e.messages[0].content, e.messages[1].content])).toEqual([
      [2, 'What is 2+2?', '4'],
      [3, 'Multi\r\nline', 'yes'],
      [7, '', 'empty'],
    ]);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'csv-syntax', line: 6, row: 2 })]);
  });

  it('auto-detects standard column names; alpaca with system column; TSV', async () => {
    const r = await parseDataset(bytes('instruction,input,output\nAdd,1 2,3\nHi,,hello\n'), { fileName: 'a.csv' });
    expect(r.format).toBe('alpaca');
    expect(r.examples.map((e) => e.messages[0].content)).toEqual(['Add\n\n1 2', 'Hi']);
    const t = await parseDataset(bytes('prompt\tcompletion\na, b\tc\n'), { fileName: 'a.tsv' });
    expect(t.format).toBe('completion');
    expect(t.examples[0].messages[0].content).toBe('a, b');
  });

  it('a chat column holding JSON text', async () => {
    const msgs = JSON.stringify(chatRow(0).messages).replace(/"/g, '""');
    const r = await parseDataset(bytes(`messages\n"${msgs}"\nnot json\n`), { fileName: 'a.csv' });
    expect(r.examples).toHaveLength(1);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'not-an-array', line: 3 })]);
  });
});
