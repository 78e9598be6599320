import { expect, it } from 'vitest';
import { resolveMetrics } from './metric-set';
import { evaluate } from './report';

const references = ['Paris', 'blue', 'seven'];
const predictions = {
  base: ['London', 'blue', 'six'],
  prompted: ['paris.', 'red', 'six'],
  tuned: ['Paris', 'Blue!', 'seven'],
};
const metrics = resolveMetrics(references, ['em_norm', 'em', 'length']);

it('evaluate: per-example scores, per-system means, paired comparisons of comparable metrics, headline verdict', () => {
  const r = evaluate({ references, rows: [4, 8, 15], predictions, metrics, bootstrap: { seed: 1, resamples: 500 } });
  expect(r.n).toBe(3);
  expect(r.systems).toEqual(['base', 'prompted', 'tuned']);
  expect(r.examples[1]).toEqual({
    index: 1,
    row: 8,
    reference: 'blue',
    predictions: { base: 'blue', prompted: 'red', tuned: 'Blue!' },
    scores: { base: { em_norm: 1, em: 1, length: 1 }, prompted: { em_norm: 0, em: 0, length: 1 }, tuned: { em_norm: 1, em: 0, length: 1 } },
  });
  expect(r.aggregates.base!.em_norm.mean).toBeCloseTo(1 / 3, 12);
  expect(r.aggregates.prompted!.em_norm.mean).toBeCloseTo(1 / 3, 12);
  expect(r.aggregates.tuned!.em_norm.mean).toBe(1);
  expect(r.aggregates.tuned!.em.mean).toBeCloseTo(2 / 3, 12);
  // Pairs tuned>prompted, tuned>base, prompted>base; the length ratio is reported, never compared.
  expect(r.comparisons.map((c) => `${c.a}>${c.b}:${c.metric}`)).toEqual([
    'tuned>prompted:em_norm',
    'tuned>prompted:em',
    'tuned>base:em_norm',
    'tuned>base:em',
    'prompted>base:em_norm',
    'prompted>base:em',
  ]);
  // tuned vs prompted on em_norm: example 0 both right (tie), 1 and 2 tuned right (wins).
  expect(r.comparisons[0].result).toMatchObject({ wins: 2, ties: 1, losses: 0 });
  expect(r.verdict).toMatchObject({ a: 'tuned', b: 'prompted', metric: 'em_norm', outcome: 'beats' });
  expect(r.verdict!.sentence).toBe('The tune beats the prompted baseline on 2 of 3 held-out examples (+0.67 normalised exact match).');
  expect(r.verdict!.caution).toMatch(/^Only 3 held-out examples were scored/);
});

it('evaluate: without a prompted baseline the headline is tuned vs base; with one system there is no verdict', () => {
  const r = evaluate({ references, predictions: { base: predictions.base, tuned: predictions.tuned }, metrics, bootstrap: { seed: 1, resamples: 100 } });
  expect(r.verdict).toMatchObject({ a: 'tuned', b: 'base' });
  expect(r.examples[0].row).toBeUndefined();
  const one = evaluate({ references, predictions: { tuned: predictions.tuned }, metrics, bootstrap: { seed: 1, resamples: 100 } });
  expect(one.comparisons).toEqual([]);
  expect(one.verdict).toBeUndefined();
});

it('evaluate: refuses an empty set, no metrics, and prediction lists of the wrong length', () => {
  const bootstrap = { seed: 1 };
  expect(() => evaluate({ references: [], predictions: {}, metrics, bootstrap })).toThrow(/empty/);
  expect(() => evaluate({ references, predictions, metrics: [], bootstrap })).toThrow(/no metrics/);
  expect(() => evaluate({ references, predictions: { tuned: ['a', 'b'] }, metrics, bootstrap })).toThrow(/tuned has 2 predictions for 3 references/);
});
