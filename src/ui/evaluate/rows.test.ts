import { expect, it } from 'vitest';
import type { EvaluationRecord } from '../../persist/records';
import { filterRows, headlineMetric } from './rows';

const ex = (index: number, p: Record<string, string>, s: Record<string, number>) => ({ index, prompt: '', reference: '', predictions: p, scores: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, { em: v }])) });
const result = {
  metrics: [{ id: 'length', label: 'length', comparable: false }, { id: 'em', label: 'exact match', comparable: true }],
  systems: [{ name: 'base', kind: 'base' }, { name: 'prompted', kind: 'prompted' }, { name: 'tune', kind: 'tuned' }, { name: 'old', kind: 'tuned' }],
  verdicts: [],
  examples: [
    ex(0, { base: 'a', prompted: 'a', tune: 'a ', old: 'a' }, { base: 1, prompted: 1, tune: 1, old: 1 }),
    ex(1, { base: 'x', prompted: 'a', tune: 'a', old: 'a' }, { base: 0, prompted: 1, tune: 1, old: 1 }),
    ex(2, { base: 'a', prompted: 'x', tune: 'x', old: 'a' }, { base: 1, prompted: 0, tune: 0, old: 1 }),
  ],
} as unknown as EvaluationRecord['result'];

it('filters: disagreements among the answers, and examples where the chosen tune scored below base or prompted', () => {
  expect(headlineMetric(result)).toBe('em');
  expect(filterRows(result, 'all', 'tune')).toHaveLength(3);
  expect(filterRows(result, 'disagree', 'tune').map((e) => e.index)).toEqual([1, 2]);
  expect(filterRows(result, 'worse', 'tune').map((e) => e.index)).toEqual([2]);
  expect(filterRows(result, 'worse', 'old').map((e) => e.index)).toEqual([]);
});
