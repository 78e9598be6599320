// The model's own tokenizer and chat template, built offline from in-memory JSON through
// @huggingface/transformers. In the browser the files come from Cache Storage/OPFS, in Node from
// disk or a test fixture; either way the caller parses them and passes the objects here, so no
// network, no file paths and no `env` settings are involved.
//
// The rest of src/data depends only on the small ChatTokenizer interface below.

import { addsBosToken } from '../engine/model/bos-token';
import {
  GemmaTokenizer,
  GPT2Tokenizer,
  LlamaTokenizer,
  PreTrainedTokenizer,
  Qwen2Tokenizer,
} from '@huggingface/transformers';
import type { Message } from './types';

export interface TokenizerFiles {
  /** Parsed tokenizer.json. */
  tokenizerJson: object;
  /** Parsed tokenizer_config.json (holds chat_template, eos_token, ...). */
  tokenizerConfig: object;
  /** Contents of chat_template.jinja, for repos that ship the template as a separate file. */
  chatTemplate?: string;
}

export interface RenderOptions {
  addGenerationPrompt?: boolean;
  /** Extra template variables, e.g. { enable_thinking: false } for Qwen3. */
  templateKwargs?: Record<string, unknown>;
}

export interface ChatTokenizer {
  /** Number of ids (max id + 1, added tokens included): the model's vocab_size must be at least this. */
  readonly vocabSize: number;
  readonly eosToken: string | null;
  readonly eosTokenId: number | null;
  readonly bosTokenId: number | null;
  readonly padTokenId: number | null;
  /** Whether raw text (not chat) should start with BOS (add_bos_token, or Llama 3's post-processor: engine/model/bos-token.ts). */
  readonly addBosToken: boolean;
  readonly hasChatTemplate: boolean;
  /** Strings of the special/added tokens, which must not appear inside message text. */
  readonly specialTokens: readonly string[];
  /** Token ids of `text`, special-token strings recognised, nothing added (no BOS/EOS). */
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  /** The chat template's rendering of `messages` (a string; tokenize it with encode). */
  renderChat(messages: readonly Message[], opts?: RenderOptions): string;
}

// Classes whose behaviour differs from the base class (legacy SentencePiece handling etc.).
const TOKENIZER_CLASSES: Record<string, typeof PreTrainedTokenizer> = {
  GPT2Tokenizer,
  LlamaTokenizer,
  Qwen2Tokenizer,
  GemmaTokenizer,
};

function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

/** Builds the tokenizer from the parsed files. Throws with a clear message on malformed files. */
export function loadTokenizer(files: TokenizerFiles): ChatTokenizer {
  const config: Record<string, unknown> = { ...(files.tokenizerConfig as Record<string, unknown>) };
  if (files.chatTemplate !== undefined) config.chat_template = files.chatTemplate;
  const className = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
  const Cls = TOKENIZER_CLASSES[className] ?? PreTrainedTokenizer;
  let tok: PreTrainedTokenizer;
  try {
    tok = new Cls(files.tokenizerJson, config);
  } catch (e) {
    throw new Error(`could not build the tokenizer from tokenizer.json: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  let maxId = -1;
  for (const id of tok.get_vocab().values()) if (id > maxId) maxId = id;
  const added = ((files.tokenizerJson as { added_tokens?: Array<{ id: number; content: string }> }).added_tokens ?? []);
  for (const t of added) if (t.id > maxId) maxId = t.id;
  const eosToken = tokenString(config.eos_token);
  const bosToken = tokenString(config.bos_token);
  const padToken = tokenString(config.pad_token);
  const idOf = (t: string | null): number | null => {
    if (t === null) return null;
    const id = tok.get_vocab().get(t);
    return id === undefined ? null : id;
  };
  const specialTokens = [...new Set([...added.map((t) => t.content), ...tok.all_special_tokens])].filter((s) => s.length > 0);
  return {
    vocabSize: maxId + 1,
    eosToken,
    eosTokenId: idOf(eosToken),
    bosTokenId: idOf(bosToken),
    padTokenId: idOf(padToken),
    addBosToken: addsBosToken(config, files.tokenizerJson, bosToken),
    hasChatTemplate: config.chat_template !== undefined && config.chat_template !== null,
    specialTokens,
    encode: (text) => (text === '' ? [] : tok.encode(text, { add_special_tokens: false })),
    decode: (ids) => (ids.length === 0 ? '' : tok.decode(Array.from(ids), { skip_special_tokens: false, clean_up_tokenization_spaces: false })),
    renderChat: (messages, opts = {}) =>
      tok.apply_chat_template(messages as Message[], {
        tokenize: false,
        add_generation_prompt: opts.addGenerationPrompt ?? false,
        ...(opts.templateKwargs ?? {}),
      }) as string,
  };
}
