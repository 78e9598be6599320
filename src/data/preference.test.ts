// Preference pairs (TRL layouts): detection in each container, row-numbered validation, masks.
import { describe, expect, it } from 'vitest';
import { tinyTokenizerFiles } from '../../test/fixtures/tiny-tokenizer';
import { parseDataset } from './parse';
import type { ParseResult } from './parse';
import { datasetStats } from './stats';
import { describeTokenization, IGNORE_INDEX, trainingData, tokenizeExample, tokenizeExamples, tokenizePair } from './tokenize';
import { loadTokenizer } from './tokenizer';
import type { Message, PreferenceExample } from './types';

const enc = new TextEncoder();
const jsonl = (rows: unknown[]) => enc.encode(rows.map((r) => JSON.stringify(r)).join('\n'));
const u = (content: string): Message => ({ role: 'user', content });
const a = (content: string): Message => ({ role: 'assistant', content });
const smol = loadTokenizer(tinyTokenizerFiles());
const DEFAULT_SYSTEM = '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n';

function onlyPair(r: ParseResult): PreferenceExample {
  expect(r.errors).toEqual([]);
  expect(r.format).toBe('preference');
  expect(r.examples).toHaveLength(1);
  const ex = r.examples[0];
  if (ex.kind !== 'preference') throw new Error(`expected a preference example, got ${ex.kind}`);
  return ex;
}

describe('preference layouts are detected in every container', () => {
  it('explicit prompt, strings (JSONL)', async () => {
    const ex = onlyPair(await parseDataset(jsonl([{ prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' }]), { fileName: 'p.jsonl' }));
    expect(ex).toMatchObject({ conversational: false, messages: [u('The sky is')], chosen: [a(' blue.')], rejected: [a(' green.')], row: 0, line: 1 });
  });

  it('explicit prompt, conversational (JSON array)', async () => {
    const rows = [{ prompt: [u('What color is the sky?')], chosen: [a('Blue.')], rejected: [a('Green.')] }];
    const ex = onlyPair(await parseDataset(enc.encode(JSON.stringify(rows)), { fileName: 'p.json' }));
    expect(ex).toMatchObject({ conversational: true, messages: [u('What color is the sky?')], chosen: [a('Blue.')], rejected: [a('Green.')] });
  });

  it('implicit prompt: the longest common message prefix (JSONL)', async () => {
    const shared = [{ role: 'system', content: 'Be terse.' }, u('Hi'), a('Hello.'), u('Sky color?')] as Message[];
    const ex = onlyPair(await parseDataset(jsonl([{ chosen: [...shared, a('Blue.')], rejected: [...shared, a('Green.'), u('Sure?'), a('Yes.')] }]), { fileName: 'p.jsonl' }));
    expect(ex.messages).toEqual(shared);
    expect(ex.chosen).toEqual([a('Blue.')]);
    expect(ex.rejected).toEqual([a('Green.'), u('Sure?'), a('Yes.')]);
  });

  it('CSV: string columns, and conversations as JSON text in the cells', async () => {
    const s = onlyPair(await parseDataset(enc.encode('prompt,chosen,rejected\n"Say hi","Hi!","[no]"\n'), { fileName: 'p.csv' }));
    expect(s).toMatchObject({ conversational: false, chosen: [a('Hi!')], rejected: [a('[no]')] });
    const cell = (m: Message[]) => `"${JSON.stringify(m).replace(/"/g, '""')}"`;
    const csv = `chosen,rejected\n${cell([u('Q'), a('yes')])},${cell([u('Q'), a('no')])}\n`;
    const c = onlyPair(await parseDataset(enc.encode(csv), { fileName: 'p.csv' }));
    expect(c).toMatchObject({ conversational: true, messages: [u('Q')], chosen: [a('yes')], rejected: [a('no')] });
  });
});

it('exact duplicate pairs are found; a pair differing only in its rejected reply is not one', async () => {
  const row = { prompt: 'p', chosen: 'c', rejected: 'r' };
  const r = await parseDataset(jsonl([row, { ...row, rejected: 'r2' }, row]), { fileName: 'p.jsonl' });
  expect(r.duplicates).toEqual([{ first: 0, duplicates: [2] }]);
});

describe('preference validation: one row-numbered error naming the field', () => {
  async function errorsOf(row: unknown) {
    // A good row first, so the bad one is row 1 on line 2.
    const r = await parseDataset(jsonl([{ prompt: 'p', chosen: 'c', rejected: 'r' }, row]), { fileName: 'p.jsonl' });
    expect(r.format).toBe('preference');
    expect(r.examples).toHaveLength(1);
    for (const e of r.errors) {
      expect(e).toMatchObject({ row: 1, line: 2 });
      expect(e.message).toMatch(/^line 2: /);
    }
    return r.errors.map((e) => ({ code: e.code, field: e.field }));
  }

  it('a missing side', async () => {
    expect(await errorsOf({ prompt: 'p', chosen: 'c' })).toEqual([{ code: 'missing-field', field: 'rejected' }]);
    expect(await errorsOf({ prompt: 'p', rejected: 'r' })).toEqual([{ code: 'missing-field', field: 'chosen' }]);
    expect(await errorsOf({ chosen: 'c', rejected: 'r' })).toEqual([{ code: 'missing-field', field: 'prompt' }]);
  });

  it('identical chosen and rejected, in each layout', async () => {
    expect(await errorsOf({ prompt: 'p', chosen: 'same', rejected: 'same' })).toEqual([{ code: 'identical-pair', field: 'rejected' }]);
    expect(await errorsOf({ chosen: [u('q'), a('x')], rejected: [u('q'), a('x')] })).toEqual([{ code: 'identical-pair', field: 'rejected' }]);
    expect(await errorsOf({ prompt: [u('q')], chosen: [u('q'), a('x')], rejected: [a('x')] })).toEqual([{ code: 'identical-pair', field: 'rejected' }]);
  });

  it('an empty completion', async () => {
    expect(await errorsOf({ prompt: 'p', chosen: '  ', rejected: 'r' })).toEqual([{ code: 'empty-completion', field: 'chosen' }]);
    expect(await errorsOf({ prompt: [u('q')], chosen: [a('x')], rejected: [] })).toEqual([{ code: 'empty-completion', field: 'rejected' }]);
    // Implicit: chosen is the shared prefix itself, nothing after it.
    expect(await errorsOf({ chosen: [u('q')], rejected: [u('q'), a('x')] })).toEqual([{ code: 'empty-completion', field: 'chosen' }]);
  });

  it('a prompt that does not match between the two sides', async () => {
    expect(await errorsOf({ chosen: [u('q1'), a('x')], rejected: [u('q2'), a('y')] })).toEqual([{ code: 'prompt-mismatch', field: 'rejected' }]);
    // Shared first turn, then the sides diverge on a user message: different prompts.
    expect(await errorsOf({ chosen: [u('q'), a('x'), u('more'), a('y')], rejected: [u('q'), a('x'), u('less'), a('y')] })).toEqual([
      { code: 'prompt-mismatch', field: 'chosen[2]' },
      { code: 'prompt-mismatch', field: 'rejected[2]' },
    ]);
    // Explicit prompt repeated inside a side, differently.
    expect(await errorsOf({ prompt: [u('q')], chosen: [u('q'), a('x')], rejected: [u('other'), a('y')] })).toEqual([{ code: 'prompt-mismatch', field: 'rejected[0]' }]);
  });

  it('strings mixed with message lists, and bad messages inside a side', async () => {
    expect(await errorsOf({ prompt: [u('q')], chosen: 'x', rejected: [a('y')] })).toEqual([{ code: 'mixed-layout', field: 'chosen' }]);
    expect(await errorsOf({ prompt: 'p', chosen: [a('x')], rejected: [a('y')] })).toEqual([{ code: 'mixed-layout', field: 'prompt' }]);
    expect(await errorsOf({ prompt: [u('q')], chosen: [{ role: 'bot', content: 'x' }], rejected: [a('y')] })).toEqual([{ code: 'unknown-role', field: 'chosen[0].role' }]);
  });
});

describe('preference tokenization: two sequences, shared prompt, loss on the replies only', () => {
  const trainedText = (labels: Int32Array) => smol.decode(Array.from(labels).filter((l) => l !== IGNORE_INDEX));

  it('plain-text pairs tokenize exactly as prompt/completion rows', () => {
    const ex: PreferenceExample = { kind: 'preference', conversational: false, row: 3, messages: [u('Q: 2+2?\nA:')], chosen: [a(' 4')], rejected: [a(' 5, surely')] };
    const p = tokenizePair(smol, ex);
    expect(p.row).toBe(3);
    for (const [side, reply] of [
      [p.chosen, ' 4'],
      [p.rejected, ' 5, surely'],
    ] as const) {
      const sft = tokenizeExample(smol, { kind: 'completion', row: 3, messages: [ex.messages[0], a(reply)] });
      expect(Array.from(side.inputIds)).toEqual(Array.from(sft.inputIds));
      expect(Array.from(side.labels)).toEqual(Array.from(sft.labels));
      expect(trainedText(side.labels)).toBe(`${reply}<|im_end|>`);
    }
    const promptIds = smol.encode('Q: 2+2?\nA:');
    expect(p.promptLength).toBe(promptIds.length);
    expect(Array.from(p.chosen.inputIds.slice(0, p.promptLength))).toEqual(promptIds);
  });

  it('conversations: the templated prompt (with the default system prompt) is shared and untrained; each reply trains with <|im_end|>', () => {
    const prompt = [u('Hi'), a('Hello.'), u('Sky color?')];
    const ex: PreferenceExample = { kind: 'preference', conversational: true, row: 0, messages: prompt, chosen: [a('Blue.')], rejected: [a('Green.')] };
    // lossMode 'all' would train the prompt in SFT; pairs always score only the replies.
    const p = tokenizePair(smol, ex, { lossMode: 'all' });
    const promptText = DEFAULT_SYSTEM + '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nSky color?<|im_end|>\n<|im_start|>assistant\n';
    const promptIds = smol.encode(promptText);
    expect(p.promptLength).toBe(promptIds.length);
    for (const [side, reply] of [
      [p.chosen, 'Blue.'],
      [p.rejected, 'Green.'],
    ] as const) {
      expect(Array.from(side.inputIds)).toEqual([...promptIds, ...smol.encode(`${reply}<|im_end|>`), ...smol.encode('\n')]);
      expect(Array.from(side.labels.slice(0, promptIds.length)).every((l) => l === IGNORE_INDEX)).toBe(true);
      expect(trainedText(side.labels)).toBe(`${reply}<|im_end|>`);
    }
  });

  it('tokenizeExamples keeps pairs apart from SFT examples; stats count both sides', async () => {
    const r = await parseDataset(
      jsonl([
        { prompt: 'A', chosen: ' good', rejected: ' bad' },
        { prompt: 'B', chosen: ' fine', rejected: ' worse still' },
      ]),
      { fileName: 'p.jsonl' },
    );
    const t = await tokenizeExamples(smol, r.examples);
    expect(t.examples).toEqual([]);
    expect(t.errors).toEqual([]);
    expect(t.pairs.map((p) => p.row)).toEqual([0, 1]);
    const seqs = t.pairs.flatMap((p) => [p.chosen, p.rejected]);
    const s = datasetStats(t.pairs);
    expect(s.pairs).toBe(2);
    expect(s.examples).toBe(4);
    expect(s.totalTokens).toBe(seqs.reduce((n, e) => n + e.inputIds.length, 0));
    expect(s.trainedTokens).toBe(seqs.reduce((n, e) => n + e.labels.filter((l) => l !== IGNORE_INDEX).length, 0));
    // A run trains on the pairs (the session refuses them for SFT, saying what the file is).
    expect(trainingData(t)).toBe(t.pairs);
  });

  it('the Data screen says how pairs are tokenized, and when a conversational pair cannot be', () => {
    expect(describeTokenization(['preference'], true)[0]).toMatch(/^Preference pairs become two sequences.*only the replies are scored/);
    expect(describeTokenization(['preference'], false)[0]).toMatch(/need a chat template and this model has none/);
  });

  it('conversational pairs need a chat template: a row error, not a crash', async () => {
    const files = tinyTokenizerFiles();
    const { chat_template: _, ...config } = files.tokenizerConfig;
    const plain = loadTokenizer({ tokenizerJson: files.tokenizerJson, tokenizerConfig: config });
    const ex: PreferenceExample = { kind: 'preference', conversational: true, row: 5, messages: [u('q')], chosen: [a('x')], rejected: [a('y')] };
    const t = await tokenizeExamples(plain, [ex]);
    expect(t.pairs).toEqual([]);
    expect(t.errors).toEqual([expect.objectContaining({ code: 'template', row: 5, message: expect.stringMatching(/^row 5: .*no chat template/) })]);
  });
});
