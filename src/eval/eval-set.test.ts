import { expect, it } from 'vitest';
import type { Example, Message } from '../data/types';
import { EvalLeakError, assertDisjoint, assertShotsHeldOut, fewShotExamples, fewShotPrompt, toEvalItem, toEvalSet, writtenShots } from './eval-set';

const chat = (row: number, ...turns: [Message['role'], string][]): Example => ({ kind: 'chat', row, messages: turns.map(([role, content]) => ({ role, content })) });
const completion = (row: number, prompt: string, answer: string): Example => ({
  kind: 'completion',
  row,
  messages: [
    { role: 'user', content: prompt },
    { role: 'assistant', content: answer },
  ],
});

it('toEvalItem: the last assistant turn is the reference, everything before it the prompt', () => {
  const e = chat(7, ['system', 'Be brief.'], ['user', 'Hi'], ['assistant', 'Hello'], ['user', 'Capital of France?'], ['assistant', 'Paris']);
  expect(toEvalItem(e)).toEqual({ prompt: e.messages.slice(0, 4), reference: 'Paris', row: 7 });
  expect(toEvalItem(completion(2, 'Translate: chat', 'cat'))).toEqual({ prompt: [{ role: 'user', content: 'Translate: chat' }], reference: 'cat', row: 2 });
  // A trailing user turn is dropped: the model is asked for the last assistant turn.
  expect(toEvalItem(chat(1, ['user', 'a'], ['assistant', 'b'], ['user', 'c']))!.reference).toBe('b');
});

it('toEvalItem: a preference pair is graded against its chosen answer, after its prompt', () => {
  const pair: Example = { kind: 'preference', conversational: true, row: 4, messages: [{ role: 'user', content: 'Capital of France?' }], chosen: [{ role: 'assistant', content: 'Paris' }], rejected: [{ role: 'assistant', content: 'Lyon' }] };
  expect(toEvalItem(pair)).toEqual({ prompt: [{ role: 'user', content: 'Capital of France?' }], reference: 'Paris', row: 4 });
  expect(toEvalItem({ ...pair, messages: [{ role: 'system', content: 'no user turn' }] })).toBeUndefined();
});

it('toEvalSet: text examples and examples without a user turn before the answer are skipped by row', () => {
  const text: Example = { kind: 'text', row: 3, messages: [{ role: 'assistant', content: 'free text' }] };
  const noUser = chat(4, ['system', 's'], ['assistant', 'x']);
  const ok = completion(5, 'q', 'a');
  const set = toEvalSet([text, noUser, ok]);
  expect(set.items.map((i) => i.row)).toEqual([5]);
  expect(set.skippedRows).toEqual([3, 4]);
});

it('assertDisjoint: the same turns in both sets (any kind, any row) is a leak, named by rows', () => {
  const train = [completion(0, 'q1', 'a1'), completion(1, 'q2', 'a2'), completion(2, 'q3', 'a3')];
  expect(() => assertDisjoint(train, [completion(0, 'q4', 'a4'), completion(1, 'q2', 'other answer')])).not.toThrow();
  const leaked = { ...chat(9, ['user', 'q3'], ['assistant', 'a3']) };
  let err: unknown;
  try {
    assertDisjoint(train, [completion(0, 'q4', 'a4'), leaked]);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(EvalLeakError);
  expect((err as EvalLeakError).pairs).toEqual([{ trainRow: 2, evalRow: 9 }]);
  expect((err as Error).message).toMatch(/training row 2 = evaluation row 9/);
});

it('fewShotExamples: k evaluable training examples in a seeded order; a leak throws', () => {
  const train = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? { kind: 'text' as const, row: i, messages: [{ role: 'assistant' as const, content: `t${i}` }] } : completion(i, `q${i}`, `a${i}`)));
  const evalSet = [completion(100, 'held-out question', 'held-out answer')];
  const shots = fewShotExamples(train, evalSet, 5, 11);
  expect(shots).toHaveLength(5);
  expect(shots.every((s) => s.row % 4 !== 0 && s.reference === `a${s.row}`)).toBe(true);
  expect(fewShotExamples(train, evalSet, 5, 11)).toEqual(shots);
  expect(fewShotExamples(train, evalSet, 5, 12).map((s) => s.row)).not.toEqual(shots.map((s) => s.row));
  expect(fewShotExamples(train.slice(0, 3), evalSet, 5, 1)).toHaveLength(2); // only rows 1 and 2 are evaluable
  expect(() => fewShotExamples(train, [completion(100, 'q5', 'a5')], 5, 11)).toThrow(EvalLeakError);
});

it('fewShotPrompt: system turns first, then each shot as prompt + answer, then the question', () => {
  const item = toEvalItem(chat(0, ['system', 'Answer in one word.'], ['user', 'Capital of Italy?'], ['assistant', 'Rome']))!;
  const shots = [toEvalItem(chat(1, ['system', 'ignored'], ['user', 'Capital of Spain?'], ['assistant', 'Madrid']))!, toEvalItem(completion(2, 'Capital of Peru?', 'Lima'))!];
  expect(fewShotPrompt(item, shots)).toEqual([
    { role: 'system', content: 'Answer in one word.' },
    { role: 'user', content: 'Capital of Spain?' },
    { role: 'assistant', content: 'Madrid' },
    { role: 'user', content: 'Capital of Peru?' },
    { role: 'assistant', content: 'Lima' },
    { role: 'user', content: 'Capital of Italy?' },
  ]);
});

it('writtenShots: role lines open turns, other lines continue them; each answer closes an example', () => {
  expect(writtenShots('\n  \nUser: lunch at 1?\nassistant: EVENT: Lunch\nWHEN: 13:00\n\nuser: hi\nuser: again\nASSISTANT:  hello')).toEqual([
    { prompt: [{ role: 'user', content: 'lunch at 1?' }], reference: 'EVENT: Lunch\nWHEN: 13:00', row: 1 },
    { prompt: [{ role: 'user', content: 'hi' }, { role: 'user', content: 'again' }], reference: 'hello', row: 2 },
  ]);
  expect(writtenShots('')).toEqual([]);
  expect(() => writtenShots('examples:\nuser: a\nassistant: b')).toThrow('Few-shot examples start each turn with “user:” or “assistant:” (the first line is “examples:”).');
  expect(() => writtenShots('user: a\nassistant: b\nassistant: c')).toThrow('Few-shot example 2 has an assistant answer without a user turn before it.');
  expect(() => writtenShots('user: a\nassistant: b\nuser: c')).toThrow('Few-shot example 2 has a user turn without an assistant answer after it.');
});

it('assertShotsHeldOut: a written example asking an evaluation question is refused, whatever its answer or system turns', () => {
  const items = [toEvalItem(chat(9, ['system', 'Be brief.'], ['user', 'Capital of Italy?'], ['assistant', 'Rome']))!, toEvalItem(completion(12, 'Capital of Peru?', 'Lima'))!];
  expect(() => assertShotsHeldOut(writtenShots('user: Capital of Spain?\nassistant: Madrid'), items)).not.toThrow();
  expect(() => assertShotsHeldOut(writtenShots('user: Capital of Spain?\nassistant: Madrid\nuser: Capital of Italy?\nassistant: Milan'), items)).toThrow(
    'Few-shot example 2 asks the question of evaluation row 9: a shot that is also a test question hands the prompted baseline its answer. Remove it from the few-shot examples.',
  );
});
