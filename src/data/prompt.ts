// The one place a prompt becomes the token ids a model generates from, and the one place
// generated ids become reply text. The playground, the samples during training and the CLI's
// `generate` all go through here, so a model reads the same input wherever it is asked.
import type { ChatTokenizer } from './tokenizer';
import type { Message } from './types';

/**
 * What plain text starts with: BOS when tokenizer_config.json says add_bos_token (Llama, Gemma).
 * Training rows without a chat template and generation share it.
 */
export function bosPrefix(tok: ChatTokenizer): number[] {
  return tok.addBosToken && tok.bosTokenId !== null ? [tok.bosTokenId] : [];
}

/**
 * Messages as plain text for a model without a chat template: the system prompt, then each
 * earlier exchange as its user text and reply on the next line, blocks separated by a blank
 * line, and the last message last, so the model continues it. One user message is its text,
 * exactly as a prompt/completion row's prompt is trained.
 */
export function plainTextPrompt(messages: readonly Pick<Message, 'role' | 'content'>[]): string {
  const blocks: string[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    const next = messages[i + 1];
    if (m.role === 'user' && next?.role === 'assistant' && i + 1 < messages.length - 1) {
      blocks.push(`${m.content}\n${next.content}`);
      i++;
    } else blocks.push(m.content);
  }
  return blocks.join('\n\n');
}

export interface PromptOptions {
  /** Plain text even when the tokenizer has a chat template (the CLI's --raw). */
  raw?: boolean;
  /** Extra chat-template variables (e.g. { enable_thinking: false }). */
  templateKwargs?: Record<string, unknown>;
}

/**
 * The ids to generate from: the chat template's rendering with the generation prompt (the
 * template writes its own BOS), or, for a base model without a template, the plain text with
 * BOS where the tokenizer adds it. An empty plain prompt starts from BOS alone.
 */
export function promptIds(tok: ChatTokenizer, messages: readonly Message[], opts: PromptOptions = {}): number[] {
  if (!opts.raw && tok.hasChatTemplate) {
    return tok.encode(tok.renderChat(messages, { addGenerationPrompt: true, templateKwargs: opts.templateKwargs }));
  }
  const ids = [...bosPrefix(tok), ...tok.encode(plainTextPrompt(messages))];
  if (ids.length > 0) return ids;
  // As transformers' generate(): an empty input starts from the BOS token even where text does not.
  if (tok.bosTokenId !== null) return [tok.bosTokenId];
  throw new Error('the prompt is empty and the tokenizer has no BOS token (tokenizer_config.json bos_token) to start from: write a prompt');
}

/** Prompt tokens decoded before the reply: enough for any decoder's context (leading-space rules, byte fallback). */
const CONTEXT_TOKENS = 8;

/**
 * Reply text of generated ids, as it continues the prompt. A reply decoded on its own loses its
 * leading space with SentencePiece (Llama) tokenizers ("▁Paris" → "Paris"), so the reply is
 * decoded after the prompt's last tokens and the text past the decoded prompt is the reply
 * (the suffix transformers' text-generation pipeline returns). Streaming holds back a
 * character whose bytes are still coming.
 */
export class ReplyText {
  private readonly context: number[];
  private readonly contextText: string;
  private readonly ids: number[] = [];
  private shown = '';

  constructor(
    private readonly tok: ChatTokenizer,
    prompt: readonly number[],
  ) {
    // BOS is dropped: decoded it is "<s>", after which a leading "▁" is a real space.
    this.context = prompt.slice(-CONTEXT_TOKENS).filter((id) => id !== tok.bosTokenId);
    this.contextText = tok.decode(this.context);
  }

  /** The whole reply so far. */
  get text(): string {
    if (this.context.length === 0) return this.tok.decode(this.ids);
    const all = this.tok.decode([...this.context, ...this.ids]);
    // A decoder that rewrites the context once more follows it: fall back to the reply alone.
    return all.startsWith(this.contextText) ? all.slice(this.contextText.length) : this.tok.decode(this.ids);
  }

  /** Adds a generated token; returns the new text to show ('' while a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.text;
    if (text.endsWith('\uFFFD') || !text.startsWith(this.shown) || text.length <= this.shown.length) return '';
    const piece = text.slice(this.shown.length);
    this.shown = text;
    return piece;
  }

  /** The text not shown yet (at the end of generation), and the whole reply. */
  finish(): { rest: string; text: string } {
    const text = this.text;
    const rest = text.startsWith(this.shown) ? text.slice(this.shown.length) : '';
    this.shown = text;
    return { rest, text };
  }
}
