import { expect, it } from 'vitest';
import { combineEvaluation, promptedMessages, resolveBaseline, resultAggregatesCsv, resultExamplesCsv, systemPrompt } from './compare';
import { resolveMetrics } from './metric-set';
import type { EvalItem } from './eval-set';

const items: EvalItem[] = [
  { prompt: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Capital of France?' }], reference: 'Paris', row: 4 },
  { prompt: [{ role: 'user', content: 'Sky colour?' }], reference: 'blue', row: 8 },
  { prompt: [{ role: 'user', content: 'Three plus four?' }], reference: 'seven', row: 15 },
];
const metrics = resolveMetrics(['Paris', 'blue', 'seven'], ['em_norm', 'length']);
const outputs = new Map([
  ['base', { predictions: ['London', 'blue', 'six'], loss: { loss: 2, targets: 3, perplexity: Math.exp(2) } }],
  ['prompted', { predictions: ['paris.', 'red', 'six'] }],
  ['run A', { predictions: ['Paris', 'Blue!', 'seven'] }],
  ['run B', { predictions: ['London', 'red', 'six'] }],
]);
const systems = [
  { name: 'base', kind: 'base' as const },
  { name: 'prompted', kind: 'prompted' as const },
  { name: 'run A', kind: 'tuned' as const, adapter: 'adapter-a' },
  { name: 'run B', kind: 'tuned' as const, adapter: 'adapter-b' },
];

it('the prompted baseline: its system text before the item’s own, the shots as turns, then the item; others get the item as is', () => {
  const shot: EvalItem = { prompt: [{ role: 'system', content: 'ignored' }, { role: 'user', content: 'Q' }], reference: 'A', row: 1 };
  expect(promptedMessages(items[0], [shot], 'Answer in one word.')).toEqual([
    { role: 'system', content: 'Answer in one word.\n\nBe brief.' },
    { role: 'user', content: 'Q' },
    { role: 'assistant', content: 'A' },
    { role: 'user', content: 'Capital of France?' },
  ]);
  expect(systemPrompt('tuned', items[0], { shots: [shot], systemText: 'x' })).toBe(items[0].prompt);
  expect(systemPrompt('prompted', items[1], { shots: [] })).toEqual(items[1].prompt);
});

it('the studio’s baseline (Playground and Evaluate): a blank system prompt is none; written examples become shots', () => {
  expect(resolveBaseline({ systemPrompt: '  \n', fewShotText: '' })).toEqual({ systemText: undefined, shots: [] });
  const b = resolveBaseline({ systemPrompt: 'Answer in one word.', fewShotText: 'user: Q\nassistant: A' });
  expect(systemPrompt('prompted', items[1], b)).toEqual([
    { role: 'system', content: 'Answer in one word.' },
    { role: 'user', content: 'Q' },
    { role: 'assistant', content: 'A' },
    { role: 'user', content: 'Sky colour?' },
  ]);
  expect(() => resolveBaseline({ systemPrompt: '', fewShotText: 'user: Q' })).toThrow('has a user turn without an assistant answer');
});

it('several adapters: one comparison set per adapter, base and prompted scored once, per-example rows by system name', () => {
  const r = combineEvaluation({ items, skippedRows: [9], systems, outputs, metrics, seed: 1 });
  expect(r.n).toBe(3);
  expect(r.skipped_rows).toEqual([9]);
  expect(r.systems.map((s) => [s.name, s.aggregates.em_norm.mean])).toEqual([
    ['base', 1 / 3],
    ['prompted', 1 / 3],
    ['run A', 1],
    ['run B', 0],
  ]);
  expect(r.systems[0]).toMatchObject({ loss: 2, targets: 3 });
  expect(r.systems[1].loss).toBeUndefined();
  expect(r.comparisons.map((c) => `${c.a}>${c.b}`)).toEqual(['run A>prompted', 'run A>base', 'prompted>base', 'run B>prompted', 'run B>base']);
  expect(r.comparisons[0]).toMatchObject({ wins: 2, ties: 1, losses: 0 });
  expect(r.comparisons[3]).toMatchObject({ wins: 0, ties: 2, losses: 1 });
  expect(r.verdicts.map((v) => [v.adapter, v.a, v.b, v.outcome])).toEqual([
    ['run A', 'run A', 'prompted', 'beats'],
    ['run B', 'run B', 'prompted', 'does-not-beat'],
  ]);
  expect(r.examples[0]).toEqual({
    index: 0,
    row: 4,
    prompt: 'Capital of France?',
    reference: 'Paris',
    predictions: { base: 'London', prompted: 'paris.', 'run A': 'Paris', 'run B': 'London' },
    scores: { base: { em_norm: 0, length: 1 }, prompted: { em_norm: 1, length: 1 }, 'run A': { em_norm: 1, length: 1 }, 'run B': { em_norm: 0, length: 1 } },
  });
});

it('without an adapter: base against the prompted baseline', () => {
  const r = combineEvaluation({ items, skippedRows: [], systems: systems.slice(0, 2), outputs, metrics, seed: 1 });
  expect(r.comparisons.map((c) => `${c.a}>${c.b}`)).toEqual(['prompted>base']);
  expect(r.verdicts).toHaveLength(1);
  expect(r.verdicts[0]).toMatchObject({ adapter: null, a: 'prompted', b: 'base' });
});

it('refuses duplicate names and missing answers', () => {
  expect(() => combineEvaluation({ items, skippedRows: [], systems: [systems[0], { ...systems[2], name: 'base' }], outputs, metrics, seed: 1 })).toThrow(/names must differ/);
  expect(() => combineEvaluation({ items, skippedRows: [], systems: [systems[0], { name: 'run C', kind: 'tuned' }], outputs, metrics, seed: 1 })).toThrow('no answers from run C');
});

it('CSV: aggregates with the reference loss, examples in long format with the prompt', () => {
  const r = combineEvaluation({ items, skippedRows: [], systems: systems.slice(0, 3), outputs, metrics, seed: 1 });
  const agg = resultAggregatesCsv(r).split('\r\n');
  expect(agg[0]).toBe('system,kind,metric,n,mean,ci_low,ci_high,level');
  expect(agg).toContain('base,base,reference_loss,3,2,,,');
  expect(agg.filter((l) => l.startsWith('run A,tuned,em_norm,3,1,'))).toHaveLength(1);
  const ex = resultExamplesCsv(r).split('\r\n');
  expect(ex[0]).toBe('example,row,system,prompt,reference,prediction,em_norm,length');
  expect(ex[1]).toBe('0,4,base,Capital of France?,Paris,London,0,1');
  expect(ex).toHaveLength(1 + 3 * 3 + 1);
});
