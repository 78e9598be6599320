// Examples → token ids + labels, with the loss mask following the chat template's real rendering.
//
// Label convention (Hugging Face's): `labels` is aligned with `inputIds`; labels[t] is inputIds[t]
// where that token is trained and IGNORE_INDEX (-100) where it is not. The shift happens later:
// the loss at position t predicts token t+1, so batches carry targets[t] = labels[t+1] (batches.ts).
// A consequence: labels[0] can never be trained (nothing predicts the first token).
//
// How the mask is found. The conversation is rendered once with the model's template. For each
// assistant turn i:
//   start: render(messages[0..i), add_generation_prompt) is a prefix of the full rendering; the
//          turn starts right after it. So a default system prompt the template inserts (SmolLM2)
//          stays in the prompt, and what the template adds after the generation prompt (a Qwen3
//          `<think></think>` block) is trained, as it is what the model must generate.
//          Fallback (templates whose prefix differs): the position of the message text itself.
//   end:   render(messages[0..i]) is a prefix → its end, less trailing whitespace (so the turn ends
//          with its end-of-turn token, e.g. <|im_end|>, and the "\n" after it is not trained).
//          Otherwise (Qwen3 renders an earlier turn differently when it is last) the first
//          end-of-turn token after the message text.
// The rendering is then tokenized piece by piece (prompt pieces, trained pieces), so every token
// belongs wholly to one side, and the prompt is tokenized exactly as at inference time.
//
// Raw rows (text, prompt/completion without a template) are tokenized as ONE text, as TRL does:
// tokenized apart, a SentencePiece (Llama) completion would start with a "▁" of its own that the
// model then learns. The mask starts at the first token reaching past the prompt's characters.

import { bosPrefix } from './prompt';
import type { ChatTokenizer, RenderOptions } from './tokenizer';
import type { Example, Message, PreferenceExample, RowError } from './types';

export const IGNORE_INDEX = -100;

/**
 * Which tokens of a chat example train:
 * - 'all-assistant' (default): every assistant turn, with its end-of-turn token.
 * - 'last-assistant': only the final assistant turn (earlier ones are context).
 * - 'all': every token, prompts and system prompt included.
 */
export type LossMode = 'all-assistant' | 'last-assistant' | 'all';

export interface TokenizeOptions {
  lossMode?: LossMode;
  /**
   * prompt/completion examples: 'raw' (default, as TRL does) tokenizes prompt + completion + EOS
   * as plain text; 'chat' renders them as a user/assistant exchange with the chat template.
   */
  completionFormat?: 'raw' | 'chat';
  /** Extra chat-template variables (e.g. { enable_thinking: false }). */
  templateKwargs?: Record<string, unknown>;
  /** End-of-turn marker to search for when the prefix method fails; default the tokenizer's eos_token. */
  endOfTurn?: string;
}

export interface TokenizedExample {
  /** Row of the source record in the file. */
  row: number;
  inputIds: Int32Array;
  /** Aligned with inputIds; IGNORE_INDEX where not trained. */
  labels: Int32Array;
}

/** A piece of rendered text and whether its tokens train. */
export interface TextPiece {
  text: string;
  trained: boolean;
}

export class MaskError extends Error {
  override name = 'MaskError';
}

/** Splits `text` into pieces by sorted, disjoint [start, end) spans of trained characters. */
function piecesFromSpans(text: string, spans: Array<[number, number]>): TextPiece[] {
  const pieces: TextPiece[] = [];
  let at = 0;
  for (const [s, e] of spans) {
    if (s > at) pieces.push({ text: text.slice(at, s), trained: false });
    if (e > s) pieces.push({ text: text.slice(s, e), trained: true });
    at = e;
  }
  if (at < text.length) pieces.push({ text: text.slice(at), trained: false });
  return pieces;
}

function trimEndWhitespace(text: string, start: number, end: number): number {
  while (end > start && /\s/.test(text[end - 1])) end--;
  return end;
}

/**
 * Renders a chat example and returns its pieces (prompt / trained), following the template.
 * Assistant turns before `fromMessage` are context (a preference pair's prompt).
 */
export function renderChatPieces(tok: ChatTokenizer, messages: readonly Message[], lossMode: LossMode, opts: TokenizeOptions = {}, fromMessage = 0): TextPiece[] {
  const render = (msgs: readonly Message[], addGenerationPrompt: boolean) =>
    tok.renderChat(msgs, { addGenerationPrompt, templateKwargs: opts.templateKwargs } satisfies RenderOptions);
  const full = render(messages, false);
  if (lossMode === 'all') return [{ text: full, trained: true }];
  const eot = opts.endOfTurn ?? tok.eosToken;
  let turns = messages.map((m, i) => (m.role === 'assistant' ? i : -1)).filter((i) => i >= fromMessage);
  if (lossMode === 'last-assistant') turns = turns.slice(-1);
  if (turns.length === 0) throw new MaskError('no assistant turn to train on');
  const spans: Array<[number, number]> = [];
  let cursor = 0;
  for (const i of turns) {
    const content = messages[i].content;
    const core = content.trim();
    const prompt = render(messages.slice(0, i), true);
    let start: number;
    if (i > 0 && full.startsWith(prompt) && prompt.length >= cursor) start = prompt.length;
    else {
      const at = full.indexOf(core, cursor);
      if (at < 0) throw new MaskError(`the chat template changes assistant message ${i}; its text was not found in the rendering`);
      start = at;
    }
    const upTo = render(messages.slice(0, i + 1), false);
    let end = -1;
    if (full.startsWith(upTo) && upTo.length > start) end = trimEndWhitespace(full, start, upTo.length);
    if (end <= start && eot) {
      const contentAt = full.indexOf(core, start);
      const from = contentAt >= 0 ? contentAt + core.length : start;
      const e = full.indexOf(eot, from);
      if (e >= 0) end = e + eot.length;
    }
    if (end <= start) throw new MaskError(`could not find the end of assistant message ${i} in the rendering`);
    spans.push([start, end]);
    cursor = end;
  }
  return piecesFromSpans(full, spans);
}

/** Whether examples of this kind go through the chat template (else they are plain text). */
export function usesChatTemplate(kind: Example['kind'], opts: Pick<TokenizeOptions, 'completionFormat'> = {}): boolean {
  return kind === 'chat' || (kind === 'completion' && opts.completionFormat === 'chat');
}

/**
 * How the examples of the given kinds are tokenized, in words for the Data screen (the same
 * paths examplePieces takes).
 */
export function describeTokenization(kinds: Iterable<Example['kind']>, hasChatTemplate: boolean, opts: Pick<TokenizeOptions, 'completionFormat'> = {}): string[] {
  const seen = new Set(kinds);
  const out: string[] = [];
  if (seen.has('chat')) {
    out.push(hasChatTemplate ? 'Conversations are rendered with the model’s chat template.' : 'Conversations need a chat template and this model has none (no chat_template in tokenizer_config.json), so they cannot be tokenized.');
  }
  if (seen.has('completion')) {
    if (!usesChatTemplate('completion', opts)) out.push('Prompt/completion rows are tokenized as plain text: the prompt, then the completion and the end-of-text token, with no chat template.');
    else out.push(hasChatTemplate ? 'Prompt/completion rows are rendered as a user/assistant exchange with the model’s chat template.' : 'Prompt/completion rows would be rendered with a chat template, and this model has none.');
  }
  if (seen.has('text')) out.push('Plain-text rows are tokenized as they are, followed by the end-of-text token.');
  if (seen.has('preference')) {
    out.push(
      hasChatTemplate
        ? 'Preference pairs become two sequences, the prompt followed by the chosen and by the rejected reply (conversations through the model’s chat template, plain-text pairs as prompt/completion rows); only the replies are scored.'
        : 'Preference pairs become two sequences, the prompt followed by the chosen and by the rejected reply, as plain text; conversational pairs need a chat template and this model has none.',
    );
  }
  return out;
}

/**
 * The text pieces of any example kind (before tokenization). Raw prompt/completion rows are
 * tokenized as one text (see completionStart); their pieces say which characters train.
 */
export function examplePieces(tok: ChatTokenizer, ex: Example, opts: TokenizeOptions = {}): TextPiece[] {
  const eos = tok.eosToken ?? '';
  switch (ex.kind) {
    case 'text':
      return [{ text: ex.messages[0].content + eos, trained: true }];
    case 'completion':
      if (usesChatTemplate(ex.kind, opts)) return renderChatPieces(tok, ex.messages, 'last-assistant', opts);
      return [
        { text: ex.messages[0].content, trained: false },
        { text: ex.messages[1].content + eos, trained: true },
      ];
    case 'chat':
      if (!tok.hasChatTemplate) throw new MaskError('the tokenizer has no chat template (tokenizer_config.json chat_template)');
      return renderChatPieces(tok, ex.messages, opts.lossMode ?? 'all-assistant', opts);
    case 'preference':
      throw new MaskError('a preference pair is two sequences: tokenize it with tokenizePair');
  }
}

/**
 * Index of the first completion token in `ids` = the tokens of prompt + completion (after
 * `skip` leading ids such as BOS), as TRL masks by character offsets: the first token whose text
 * reaches past the prompt's characters; a token straddling the boundary belongs to the completion.
 * The tokenizer library gives no offsets, so characters are counted on decoded prefixes, starting
 * where the ids stop agreeing with the prompt's own tokens (those lie wholly inside the prompt).
 */
export function completionStart(tok: ChatTokenizer, ids: readonly number[], skip: number, prompt: string): number {
  const promptOnly = tok.encode(prompt);
  const promptChars = tok.decode(promptOnly).length;
  let k = skip;
  while (k - skip < promptOnly.length && k < ids.length && ids[k] === promptOnly[k - skip]) k++;
  // One token back: cheap insurance against a decoder whose prefix text is not a prefix.
  k = Math.max(skip, k - 1);
  for (; k < ids.length; k++) if (tok.decode(ids.slice(skip, k + 1)).length > promptChars) return k;
  return ids.length;
}

/** Tokenizes one example. Throws MaskError when the template cannot be followed. */
export function tokenizeExample(tok: ChatTokenizer, ex: Example, opts: TokenizeOptions = {}): TokenizedExample {
  const pieces = examplePieces(tok, ex, opts);
  // Chat templates write their own BOS; raw text gets it as at inference (bosPrefix).
  if (!usesChatTemplate(ex.kind, opts)) {
    const bos = bosPrefix(tok);
    const ids = [...bos, ...tok.encode(pieces.map((p) => p.text).join(''))];
    const skip = bos.length;
    const start = pieces[0].trained ? skip : completionStart(tok, ids, skip, pieces[0].text);
    const labels = ids.map((id, t) => (t >= start ? id : IGNORE_INDEX));
    return { row: ex.row, inputIds: Int32Array.from(ids), labels: Int32Array.from(labels) };
  }
  return tokenizePieces(tok, ex.row, pieces);
}

/** Templated pieces → ids and labels, each piece tokenized on its own so no token straddles a boundary. */
function tokenizePieces(tok: ChatTokenizer, row: number, pieces: readonly TextPiece[]): TokenizedExample {
  const ids: number[] = [];
  const labels: number[] = [];
  for (const p of pieces) {
    for (const id of tok.encode(p.text)) {
      ids.push(id);
      labels.push(p.trained ? id : IGNORE_INDEX);
    }
  }
  return { row, inputIds: Int32Array.from(ids), labels: Int32Array.from(labels) };
}

/**
 * A preference pair tokenized: the prompt followed by each reply, labels on the reply tokens only
 * (whatever the loss mode: DPO and ORPO score completions). `promptLength` is the number of
 * leading untrained tokens the two sequences share.
 */
export interface TokenizedPair {
  row: number;
  chosen: TokenizedExample;
  rejected: TokenizedExample;
  promptLength: number;
}

/**
 * Tokenizes a preference pair with the SFT code: a plain-text pair as two raw prompt/completion
 * rows (one text each, mask from character offsets), a conversation through the chat template
 * with the replies' assistant turns trained. Throws MaskError when the template cannot be followed
 * or renders the prompt differently for the two sides.
 */
export function tokenizePair(tok: ChatTokenizer, ex: PreferenceExample, opts: TokenizeOptions = {}): TokenizedPair {
  const side = (reply: Message[]): TokenizedExample => {
    if (!ex.conversational && !usesChatTemplate('completion', opts)) {
      return tokenizeExample(tok, { kind: 'completion', messages: [ex.messages[0], reply[0]], row: ex.row }, opts);
    }
    if (!tok.hasChatTemplate) throw new MaskError('the tokenizer has no chat template (tokenizer_config.json chat_template)');
    return tokenizePieces(tok, ex.row, renderChatPieces(tok, [...ex.messages, ...reply], 'all-assistant', opts, ex.messages.length));
  };
  const chosen = side(ex.chosen);
  const rejected = side(ex.rejected);
  const firstTrained = (e: TokenizedExample) => {
    const t = e.labels.findIndex((l) => l !== IGNORE_INDEX);
    return t < 0 ? e.labels.length : t;
  };
  const limit = Math.min(firstTrained(chosen), firstTrained(rejected));
  let promptLength = 0;
  while (promptLength < limit && chosen.inputIds[promptLength] === rejected.inputIds[promptLength]) promptLength++;
  // Pieces are tokenized apart, so a templated prompt is the same tokens on both sides unless the
  // template itself renders it differently. (Raw text may differ in the one token straddling the
  // boundary, which then trains, as in SFT.)
  if (ex.conversational && (firstTrained(chosen) !== promptLength || firstTrained(rejected) !== promptLength)) {
    throw new MaskError('the chat template renders the prompt differently before the chosen and the rejected reply');
  }
  return { row: ex.row, chosen, rejected, promptLength };
}

export interface TokenizeProgress {
  done: number;
  total: number;
}

export interface TokenizeResult {
  examples: TokenizedExample[];
  /** Preference pairs (kept apart from `examples`: the two sequences of a pair train together). */
  pairs: TokenizedPair[];
  /** Examples the template could not render or mask (code 'template'), by row. */
  errors: Array<Omit<RowError, 'code'> & { code: 'template' }>;
  /** Rows whose message text contains a special token string (e.g. "<|im_end|>"): the mask may be wrong. */
  specialTokenRows: number[];
}

/**
 * Tokenizes every example. Async only to yield between slices so a worker stays responsive
 * (progress messages, abort); the work itself is synchronous.
 */
export async function tokenizeExamples(
  tok: ChatTokenizer,
  examples: readonly Example[],
  opts: TokenizeOptions & { onProgress?: (p: TokenizeProgress) => void; signal?: AbortSignal } = {},
): Promise<TokenizeResult> {
  const out: TokenizedExample[] = [];
  const pairs: TokenizedPair[] = [];
  const errors: TokenizeResult['errors'] = [];
  const specialTokenRows: number[] = [];
  const specials = tok.specialTokens;
  for (let i = 0; i < examples.length; i++) {
    if (i % 256 === 0 && i > 0) {
      opts.onProgress?.({ done: i, total: examples.length });
      await new Promise((r) => setTimeout(r, 0));
      if (opts.signal?.aborted) throw opts.signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
    }
    const ex = examples[i];
    const texts = ex.kind === 'preference' ? [...ex.messages, ...ex.chosen, ...ex.rejected] : ex.messages;
    if (texts.some((m) => specials.some((s) => m.content.includes(s)))) specialTokenRows.push(ex.row);
    try {
      if (ex.kind === 'preference') pairs.push(tokenizePair(tok, ex, opts));
      else out.push(tokenizeExample(tok, ex, opts));
    } catch (e) {
      const where = ex.line !== undefined ? `line ${ex.line}` : `row ${ex.row}`;
      errors.push({
        code: 'template',
        row: ex.row,
        ...(ex.line !== undefined ? { line: ex.line } : {}),
        message: `${where}: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  }
  opts.onProgress?.({ done: examples.length, total: examples.length });
  return { examples: out, pairs, errors, specialTokenRows };
}

/**
 * What a run trains on: a preference file's pairs, else its examples. Whether they fit the run's
 * objective (SFT needs examples, DPO/ORPO pairs) is the training session's check, which says what
 * the file holds rather than "nothing could be tokenized".
 */
export function trainingData(r: TokenizeResult): TokenizedExample[] | TokenizedPair[] {
  return r.pairs.length > 0 ? r.pairs : r.examples;
}
