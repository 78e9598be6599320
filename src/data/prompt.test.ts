// Generation input (template or plain text, BOS) and reply text (leading space, streaming).
import { describe, expect, it } from 'vitest';
import { tinyLlamaTokenizerFiles, tinyTokenizerFiles } from '../../test/fixtures/tiny-tokenizer';
import { loadTokenizer } from './tokenizer';
import { plainTextPrompt, promptIds, ReplyText } from './prompt';

const llama = loadTokenizer(tinyLlamaTokenizerFiles()); // base model: no chat template, add_bos_token
const smol = loadTokenizer(tinyTokenizerFiles()); // ChatML template, no add_bos_token
const BOS = 1;

/** The reply ids a model would generate after `prompt` to write `reply` (from the whole text's tokens). */
function replyIds(prompt: string, reply: string): { prompt: number[]; reply: number[] } {
  const p = llama.encode(prompt);
  const all = llama.encode(prompt + reply);
  expect(all.slice(0, p.length)).toEqual(p);
  return { prompt: [BOS, ...p], reply: all.slice(p.length) };
}

describe('promptIds', () => {
  it('a base model without a chat template reads the plain text after BOS', () => {
    expect(promptIds(llama, [{ role: 'user', content: 'The capital of France is' }])).toEqual([BOS, ...llama.encode('The capital of France is')]);
  });

  it("Llama 3's tokenizer (no add_bos_token; tokenizer.json's post-processor prepends BOS) starts plain text with BOS too", () => {
    const files = tinyLlamaTokenizerFiles();
    const { add_bos_token: _dropped, ...config } = files.tokenizerConfig as Record<string, unknown>;
    const bos = (config.bos_token as string | { content: string });
    const bosText = typeof bos === 'string' ? bos : bos.content;
    const json = { ...(files.tokenizerJson as object), post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: bosText, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: {} } };
    const llama3 = loadTokenizer({ ...files, tokenizerConfig: config, tokenizerJson: json });
    expect(llama3.addBosToken).toBe(true);
    expect(promptIds(llama3, [{ role: 'user', content: 'Hi' }])[0]).toBe(BOS);
    expect(loadTokenizer({ ...files, tokenizerConfig: config }).addBosToken).toBe(false);
  });

  it('an empty prompt starts from BOS alone', () => {
    expect(promptIds(llama, [{ role: 'user', content: '' }])).toEqual([BOS]);
  });

  it('a tokenizer without BOS cannot start from an empty prompt: a clear error', () => {
    const files = tinyTokenizerFiles();
    const { chat_template: _t, bos_token: _b, ...config } = files.tokenizerConfig;
    const bare = loadTokenizer({ tokenizerJson: files.tokenizerJson, tokenizerConfig: config });
    expect(() => promptIds(bare, [{ role: 'user', content: '' }])).toThrow(/prompt is empty.*no BOS token/);
    expect(promptIds(bare, [{ role: 'user', content: 'Hi' }])).toEqual(bare.encode('Hi'));
  });

  it('a chat template renders the messages with the generation prompt; raw skips it', () => {
    const messages = [{ role: 'user' as const, content: 'Hi' }];
    expect(promptIds(smol, messages)).toEqual(smol.encode(smol.renderChat(messages, { addGenerationPrompt: true })));
    expect(promptIds(smol, messages, { raw: true })).toEqual(smol.encode('Hi'));
  });

  it('plain text of a prompted baseline: system, examples as prompt + reply lines, then the prompt', () => {
    const text = plainTextPrompt([
      { role: 'system', content: 'Answer with a capital.' },
      { role: 'user', content: 'Spain:' },
      { role: 'assistant', content: 'Madrid' },
      { role: 'user', content: 'France:' },
    ]);
    expect(text).toBe('Answer with a capital.\n\nSpain:\nMadrid\n\nFrance:');
  });
});

describe('ReplyText', () => {
  it('keeps the leading space a SentencePiece reply starts with', () => {
    const { prompt, reply } = replyIds('The capital of France is', ' Paris.');
    // Decoded alone the reply loses its space: the bug this guards.
    expect(llama.decode(reply)).toBe('Paris.');
    const r = new ReplyText(llama, prompt);
    const streamed = reply.map((id) => r.push(id)).join('');
    const { rest, text } = r.finish();
    expect(text).toBe(' Paris.');
    expect(streamed + rest).toBe(' Paris.');
  });

  it('streams whole characters only (byte-fallback tokens of one emoji come out together)', () => {
    const { prompt, reply } = replyIds('Hello', ' ü 😀!');
    const r = new ReplyText(llama, prompt);
    const pieces = reply.map((id) => r.push(id));
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
    expect(pieces.join('') + r.finish().rest).toBe(' ü 😀!');
  });

  it('from BOS alone the reply is the text itself, without "<s>"', () => {
    const r = new ReplyText(llama, [BOS]);
    for (const id of llama.encode('Hello there')) r.push(id);
    expect(r.finish().text).toBe('Hello there');
  });

  it('a long prompt: only its last tokens are decoded as context, the result is the same', () => {
    const long = 'one two three four five six seven eight nine ten '.repeat(5) + 'The capital of France is';
    const { prompt, reply } = replyIds(long, ' Paris.');
    const r = new ReplyText(llama, prompt);
    for (const id of reply) r.push(id);
    expect(r.finish().text).toBe(' Paris.');
  });
});
