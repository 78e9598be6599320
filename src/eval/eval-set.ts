// The held-out evaluation set as prompts and references, and the prompted baseline's few-shot
// examples, which come from the training set (drawn, or written by hand in the studio) and never
// from the evaluation set.

import { seededShuffle } from '../data/split';
import type { Example, Message } from '../data/types';

/** One evaluation case: what the model is given, and the answer it is graded against. */
export interface EvalItem {
  /** Everything before the reference turn (system, user and earlier assistant turns). */
  prompt: Message[];
  /** The last assistant turn (a completion example's completion). */
  reference: string;
  /** The example's row in its file, to point back at it. */
  row: number;
}

/**
 * Splits an example at its last assistant turn: that turn is the reference, everything before it
 * the prompt (turns after it, which a model is never asked to write, are dropped); a preference
 * pair's reference is its chosen answer. Undefined when
 * there is nothing to prompt with: no assistant turn, or no user turn before it (a 'text' example).
 */
export function toEvalItem(example: Example): EvalItem | undefined {
  // A preference pair is graded against its chosen answer (its last message), after its prompt.
  if (example.kind === 'preference') {
    const chosen = example.chosen.at(-1);
    if (!chosen || !example.messages.some((m) => m.role === 'user')) return undefined;
    return { prompt: [...example.messages, ...example.chosen.slice(0, -1)], reference: chosen.content, row: example.row };
  }
  const last = example.messages.map((m) => m.role).lastIndexOf('assistant');
  if (last < 0) return undefined;
  const prompt = example.messages.slice(0, last);
  if (!prompt.some((m) => m.role === 'user')) return undefined;
  return { prompt, reference: example.messages[last].content, row: example.row };
}

export interface EvalSet {
  items: EvalItem[];
  /** Rows of examples that cannot be evaluated (see toEvalItem). */
  skippedRows: number[];
}

export function toEvalSet(examples: readonly Example[]): EvalSet {
  const items: EvalItem[] = [];
  const skippedRows: number[] = [];
  for (const e of examples) {
    const item = toEvalItem(e);
    if (item) items.push(item);
    else skippedRows.push(e.row);
  }
  return { items, skippedRows };
}

/** Content identity of an example: its turns, whatever its kind or row. */
const contentKey = (messages: readonly Message[]) => JSON.stringify(messages.map((m) => [m.role, m.content]));

export class EvalLeakError extends Error {
  constructor(
    readonly pairs: { trainRow: number; evalRow: number }[],
  ) {
    const shown = pairs.slice(0, 5).map((p) => `training row ${p.trainRow} = evaluation row ${p.evalRow}`);
    super(`The evaluation set is not held out: ${pairs.length} example(s) also occur in the training set (${shown.join('; ')}${pairs.length > 5 ? '; …' : ''}). Remove them from one of the two.`);
    this.name = 'EvalLeakError';
  }
}

/** Throws EvalLeakError when an example of the training set has the same content as one of the evaluation set. */
export function assertDisjoint(train: readonly Example[], evalSet: readonly Example[]): void {
  const evalRows = new Map<string, number>();
  for (const e of evalSet) if (!evalRows.has(contentKey(e.messages))) evalRows.set(contentKey(e.messages), e.row);
  const pairs: { trainRow: number; evalRow: number }[] = [];
  for (const t of train) {
    const evalRow = evalRows.get(contentKey(t.messages));
    if (evalRow !== undefined) pairs.push({ trainRow: t.row, evalRow });
  }
  if (pairs.length > 0) throw new EvalLeakError(pairs);
}

/**
 * k few-shot examples for the prompted baseline: a seeded draw from the training set (examples
 * that cannot be evaluated skipped). Throws EvalLeakError if the two sets share an example, since
 * a shot that is also a test question would hand the baseline the answer (and the tune saw it too).
 */
export function fewShotExamples(train: readonly Example[], evalSet: readonly Example[], k: number, seed: number): EvalItem[] {
  assertDisjoint(train, evalSet);
  const shots: EvalItem[] = [];
  for (const e of seededShuffle(train, seed)) {
    if (shots.length >= k) break;
    const item = toEvalItem(e);
    if (item) shots.push(item);
  }
  return shots;
}

/**
 * The prompted baseline's conversation: the item's system turns, then each shot as its prompt
 * turns (without their system turns) and its reference as the assistant's answer, then the item's
 * own turns.
 */
export function fewShotPrompt(item: EvalItem, shots: readonly EvalItem[]): Message[] {
  const system = item.prompt.filter((m) => m.role === 'system');
  const shotTurns = shots.flatMap((s) => [...s.prompt.filter((m) => m.role !== 'system'), { role: 'assistant' as const, content: s.reference }]);
  return [...system, ...shotTurns, ...item.prompt.filter((m) => m.role !== 'system')];
}

/**
 * Few-shot examples written by hand (the studio's "Few-shot examples" box): a line starting with
 * "user:" or "assistant:" opens a turn, other non-empty lines continue the previous turn. Each
 * assistant turn closes one example whose prompt is the user turns before it; `row` is the
 * example's number in the box (1-based). Throws on text before the first turn, an answer without
 * a question, or a question left without an answer, naming the example: blank text is the only
 * way to have no examples, so a screen can tell an empty baseline without parsing.
 */
export function writtenShots(text: string): EvalItem[] {
  const turns: Message[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(user|assistant)\s*:\s*(.*)$/i.exec(line);
    if (m) turns.push({ role: m[1].toLowerCase() as 'user' | 'assistant', content: m[2] });
    else if (line.trim() && turns.length) turns[turns.length - 1].content += '\n' + line;
    else if (line.trim()) throw new Error(`Few-shot examples start each turn with “user:” or “assistant:” (the first line is “${line.trim().slice(0, 40)}”).`);
  }
  const shots: EvalItem[] = [];
  let prompt: Message[] = [];
  for (const t of turns) {
    if (t.role === 'user') {
      prompt.push(t);
      continue;
    }
    if (prompt.length === 0) throw new Error(`Few-shot example ${shots.length + 1} has an assistant answer without a user turn before it.`);
    shots.push({ prompt, reference: t.content, row: shots.length + 1 });
    prompt = [];
  }
  if (prompt.length > 0) throw new Error(`Few-shot example ${shots.length + 1} has a user turn without an assistant answer after it.`);
  return shots;
}

/** A question as the model sees it: the prompt's turns other than system turns. */
const questionKey = (item: EvalItem) => contentKey(item.prompt.filter((m) => m.role !== 'system'));

/**
 * Throws when a written few-shot example asks the question of an evaluation item: it would hand
 * the prompted baseline that item's answer (drawn shots are checked by assertDisjoint).
 */
export function assertShotsHeldOut(shots: readonly EvalItem[], items: readonly EvalItem[]): void {
  const evalRows = new Map<string, number>();
  for (const i of items) if (!evalRows.has(questionKey(i))) evalRows.set(questionKey(i), i.row);
  for (const s of shots) {
    const row = evalRows.get(questionKey(s));
    if (row !== undefined) throw new Error(`Few-shot example ${s.row} asks the question of evaluation row ${row}: a shot that is also a test question hands the prompted baseline its answer. Remove it from the few-shot examples.`);
  }
}
