// Loss masks checked token by token against hand-written renderings of the templates.
import { describe, expect, it } from 'vitest';
import { tinyLlamaTokenizerFiles, tinyTokenizerFiles } from '../../test/fixtures/tiny-tokenizer';
import { loadTokenizer } from './tokenizer';
import { completionStart, IGNORE_INDEX, describeTokenization, tokenizeExample, tokenizeExamples } from './tokenize';
import type { ChatTokenizer } from './tokenizer';
import type { Example, Message } from './types';

const smol = loadTokenizer(tinyTokenizerFiles());
const qwen = loadTokenizer(tinyTokenizerFiles({ template: 'qwen3' }));

const DEFAULT_SYSTEM = '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n';

function chat(messages: Message[], row = 0): Example {
  return { kind: 'chat', messages, row };
}

/** Expected ids/labels from pieces written out by hand: [text, trained]. */
function expected(tok: ChatTokenizer, pieces: Array<[string, boolean]>) {
  const ids: number[] = [];
  const labels: number[] = [];
  for (const [text, trained] of pieces) {
    for (const id of tok.encode(text)) {
      ids.push(id);
      labels.push(trained ? id : IGNORE_INDEX);
    }
  }
  return { ids, labels };
}

function expectTokens(tok: ChatTokenizer, ex: Example, pieces: Array<[string, boolean]>, opts = {}) {
  const got = tokenizeExample(tok, ex, opts);
  const want = expected(tok, pieces);
  expect(Array.from(got.inputIds)).toEqual(want.ids);
  // Token by token, with the decoded token in the message when one differs.
  for (let t = 0; t < want.labels.length; t++) {
    if (got.labels[t] !== want.labels[t]) {
      expect.fail(`token ${t} ${JSON.stringify(tok.decode([want.ids[t]]))}: label ${got.labels[t]}, expected ${want.labels[t]}`);
    }
  }
  expect(got.labels.length).toBe(want.labels.length);
  return got;
}

const convo: Message[] = [
  { role: 'user', content: 'What is the capital of France?' },
  { role: 'assistant', content: 'Paris.' },
  { role: 'user', content: 'And of Spain?' },
  { role: 'assistant', content: 'Madrid ü 😀' },
];

describe('tokenizer from in-memory files', () => {
  it('exposes vocab size, special ids and the template', () => {
    const files = tinyTokenizerFiles();
    expect(smol.vocabSize).toBe(files.vocabSize);
    expect(smol.eosToken).toBe('<|im_end|>');
    expect(smol.eosTokenId).toBe(2);
    expect(smol.bosTokenId).toBe(1);
    expect(smol.hasChatTemplate).toBe(true);
    expect(smol.specialTokens).toEqual(expect.arrayContaining(['<|endoftext|>', '<|im_start|>', '<|im_end|>']));
    expect(smol.encode('<|im_start|>user')[0]).toBe(1);
    const s = 'Héllo wörld 😀 <|im_end|>';
    expect(smol.decode(smol.encode(s))).toBe(s);
  });
});

describe('ChatML (SmolLM2) template with its default system prompt', () => {
  it('trains every assistant turn with its <|im_end|>, not the inserted system prompt nor the newline after', () => {
    const got = expectTokens(smol, chat(convo), [
      [DEFAULT_SYSTEM + '<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n', false],
      ['Paris.<|im_end|>', true],
      ['\n<|im_start|>user\nAnd of Spain?<|im_end|>\n<|im_start|>assistant\n', false],
      ['Madrid ü 😀<|im_end|>', true],
      ['\n', false],
    ]);
    // Piecewise tokenization equals tokenizing the whole rendering for this template.
    expect(Array.from(got.inputIds)).toEqual(smol.encode(smol.renderChat(convo)));
    const trained = Array.from(got.labels).filter((l) => l !== IGNORE_INDEX);
    expect(smol.decode(trained)).toBe('Paris.<|im_end|>Madrid ü 😀<|im_end|>');
  });

  it('an explicit system prompt replaces the default and is not trained', () => {
    expectTokens(smol, chat([{ role: 'system', content: 'Be terse.' }, ...convo.slice(0, 2)]), [
      ['<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n', false],
      ['Paris.<|im_end|>', true],
      ['\n', false],
    ]);
  });

  it("lossMode 'last-assistant' trains only the final turn; 'all' trains everything", () => {
    expectTokens(
      smol,
      chat(convo),
      [
        [DEFAULT_SYSTEM + '<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\nParis.<|im_end|>\n<|im_start|>user\nAnd of Spain?<|im_end|>\n<|im_start|>assistant\n', false],
        ['Madrid ü 😀<|im_end|>', true],
        ['\n', false],
      ],
      { lossMode: 'last-assistant' },
    );
    expectTokens(smol, chat(convo), [[smol.renderChat(convo), true]], { lossMode: 'all' });
  });

  it('an assistant turn first (no prompt before it) is found by its text', () => {
    expectTokens(smol, chat([{ role: 'assistant', content: 'Hi there.' }]), [
      [DEFAULT_SYSTEM + '<|im_start|>assistant\n', false],
      ['Hi there.<|im_end|>', true],
      ['\n', false],
    ]);
  });

  it('prompt/completion trains the completion and EOS; text trains everything', () => {
    const pc: Example = { kind: 'completion', row: 0, messages: [{ role: 'user', content: 'Q: 2+2?\nA:' }, { role: 'assistant', content: ' 4' }] };
    expectTokens(smol, pc, [
      ['Q: 2+2?\nA:', false],
      [' 4<|im_end|>', true],
    ]);
    expectTokens(
      smol,
      pc,
      [
        [DEFAULT_SYSTEM + '<|im_start|>user\nQ: 2+2?\nA:<|im_end|>\n<|im_start|>assistant\n', false],
        [' 4<|im_end|>', true],
        ['\n', false],
      ],
      { completionFormat: 'chat' },
    );
    const tx: Example = { kind: 'text', row: 0, messages: [{ role: 'assistant', content: 'The dog sleeps.' }] };
    expectTokens(smol, tx, [['The dog sleeps.<|im_end|>', true]]);
  });
});

describe('SentencePiece (Llama-style) tokenizer: raw text is tokenized as the model reads it', () => {
  const llama = loadTokenizer(tinyLlamaTokenizerFiles());
  const BOS = 1;
  const completion = (prompt: string, reply: string): Example => ({ kind: 'completion', row: 0, messages: [{ role: 'user', content: prompt }, { role: 'assistant', content: reply }] });

  it('prompt + completion is ONE text: no extra "▁" before the completion; the mask starts after the prompt', () => {
    const prompt = 'Q: What is the capital of France?\nA:';
    const got = tokenizeExample(llama, completion(prompt, ' Paris.'));
    const whole = [BOS, ...llama.encode(prompt + ' Paris.</s>')];
    expect(Array.from(got.inputIds)).toEqual(whole);
    // Tokenized apart, the completion would start with a "▁" of its own: the bug this guards.
    expect([...llama.encode(prompt), ...llama.encode(' Paris.</s>')].length).toBeGreaterThan(whole.length - 1);
    const k = 1 + llama.encode(prompt).length;
    expect(whole.slice(1, k)).toEqual(llama.encode(prompt));
    expect(Array.from(got.labels)).toEqual(whole.map((id, t) => (t >= k ? id : IGNORE_INDEX)));
  });

  it('a token straddling the prompt/completion boundary trains; a prompt ending in a space keeps it', () => {
    const straddle = tokenizeExample(llama, completion('The capital of Fr', 'ance.'));
    const ids = Array.from(straddle.inputIds);
    const k = straddle.labels.findIndex((l) => l !== IGNORE_INDEX);
    expect(llama.decode(ids.slice(1, k))).toBe('The capital of');
    expect(llama.decode(ids.slice(1, k + 1))).toBe('The capital of France');
    expect(completionStart(llama, ids, 1, 'The capital of Fr')).toBe(k);

    const spaced = tokenizeExample(llama, completion('Q: ', 'Paris.'));
    const j = spaced.labels.findIndex((l) => l !== IGNORE_INDEX);
    expect(llama.decode(Array.from(spaced.inputIds.slice(1, j)))).toBe('Q: ');
    expect(llama.decode(Array.from(spaced.inputIds.slice(1, j + 1)))).toBe('Q: P');
  });

  it('plain text starts with BOS (add_bos_token), never trained; a chat template writes its own BOS', () => {
    const tx = tokenizeExample(llama, { kind: 'text', row: 0, messages: [{ role: 'assistant', content: 'The dog sleeps.' }] });
    expect(Array.from(tx.inputIds)).toEqual([BOS, ...llama.encode('The dog sleeps.</s>')]);
    expect(Array.from(tx.labels)).toEqual([IGNORE_INDEX, ...llama.encode('The dog sleeps.</s>')]);
    const templated = loadTokenizer(tinyLlamaTokenizerFiles({ chatTemplate: "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}" }));
    const pc = tokenizeExample(templated, completion('Hi', ' there'), { completionFormat: 'chat' });
    expect(pc.inputIds[0]).toBe(BOS);
    expect(pc.inputIds[1]).not.toBe(BOS);
  });
});

describe('Qwen3-style template with <think> blocks', () => {
  it('the final turn trains its generated think block; an earlier turn (rendered without one) trains its text', () => {
    // Prefix rendering is not a prefix of the full rendering here: the template renders the first
    // assistant turn with a think block when it is last, without one when it is not.
    const prefix = qwen.renderChat(convo.slice(0, 2));
    expect(qwen.renderChat(convo).startsWith(prefix)).toBe(false);
    expectTokens(qwen, chat(convo), [
      ['<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n', false],
      ['Paris.<|im_end|>', true],
      ['\n<|im_start|>user\nAnd of Spain?<|im_end|>\n<|im_start|>assistant\n', false],
      ['<think>\n\n</think>\n\nMadrid ü 😀<|im_end|>', true],
      ['\n', false],
    ]);
  });

  it('reasoning inside the final message is trained with it; enable_thinking=false only changes the prompt', () => {
    const m: Message[] = [
      { role: 'user', content: 'Is 7 prime?' },
      { role: 'assistant', content: '<think>\nIt has no divisors.\n</think>\n\nYes.' },
    ];
    expectTokens(qwen, chat(m), [
      ['<|im_start|>user\nIs 7 prime?<|im_end|>\n<|im_start|>assistant\n', false],
      ['<think>\nIt has no divisors.\n</think>\n\nYes.<|im_end|>', true],
      ['\n', false],
    ]);
    // With enable_thinking=false the generation prompt already holds the empty think block, so it is prompt.
    expectTokens(
      qwen,
      chat(convo.slice(0, 2)),
      [
        ['<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n', false],
        ['Paris.<|im_end|>', true],
        ['\n', false],
      ],
      { templateKwargs: { enable_thinking: false } },
    );
  });
});

describe('tokenizeExamples', () => {
  it('reports template failures as row errors and flags special tokens inside text', async () => {
    const files = tinyTokenizerFiles();
    const strict = loadTokenizer({
      ...files,
      chatTemplate:
        "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('system messages are not supported') }}{% endif %}" +
        "{{ '<|im_start|>' + m.role + '\n' + m.content + '<|im_end|>\n' }}{% endfor %}",
    });
    const examples: Example[] = [
      chat(convo.slice(0, 2), 0),
      { ...chat([{ role: 'system', content: 's' }, ...convo.slice(0, 2)], 1), line: 2 },
      chat([{ role: 'user', content: 'say <|im_end|> please' }, { role: 'assistant', content: 'ok' }], 2),
    ];
    const r = await tokenizeExamples(strict, examples);
    expect(r.examples.map((e) => e.row)).toEqual([0, 2]);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'template', row: 1, line: 2 })]);
    expect(r.errors[0].message).toContain('system messages are not supported');
    expect(r.specialTokenRows).toEqual([2]);
  });

  it('a tokenizer without a chat template cannot render chat rows', async () => {
    const files = tinyTokenizerFiles();
    const { chat_template: _, ...config } = files.tokenizerConfig;
    const bare = loadTokenizer({ tokenizerJson: files.tokenizerJson, tokenizerConfig: config });
    const r = await tokenizeExamples(bare, [chat(convo)]);
    expect(r.errors[0].message).toMatch(/no chat template/);
  });
});

describe('describeTokenization', () => {
  it('says prompt/completion rows are plain text, with or without a chat template', () => {
    const plain = describeTokenization(['completion', 'completion'], false);
    expect(plain).toEqual(['Prompt/completion rows are tokenized as plain text: the prompt, then the completion and the end-of-text token, with no chat template.']);
    expect(describeTokenization(['completion'], true)).toEqual(plain);
    expect(describeTokenization(['completion'], true, { completionFormat: 'chat' })[0]).toMatch(/with the model’s chat template/);
  });

  it('names the chat template only where it is used, and its absence where it is needed', () => {
    expect(describeTokenization(['chat', 'text'], true)).toEqual(['Conversations are rendered with the model’s chat template.', 'Plain-text rows are tokenized as they are, followed by the end-of-text token.']);
    expect(describeTokenization(['chat'], false)[0]).toMatch(/this model has none/);
    expect(describeTokenization([], true)).toEqual([]);
  });
});
