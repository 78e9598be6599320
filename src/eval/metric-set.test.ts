import { expect, it } from 'vitest';
import { chooseMetricIds, metricFromId, resolveMetrics } from './metric-set';

it('chooseMetricIds: JSON objects, JSON arrays, short answers, longer text', () => {
  expect(chooseMetricIds(['{"a": 1}', '```json\n{"b": 2}\n```'])).toEqual(['json_fields', 'json', 'em', 'length']);
  expect(chooseMetricIds(['[1]', '{"b": 2}'])).toEqual(['json', 'em', 'length']);
  expect(chooseMetricIds(['positive', 'negative', 'the capital is Paris'])).toEqual(['em_norm', 'f1', 'length']);
  // One reference longer than five words, or one non-JSON among JSON, decides.
  expect(chooseMetricIds(['yes', 'one two three four five six'])).toEqual(['rougeL', 'chrf', 'f1', 'length']);
  expect(chooseMetricIds(['{"a": 1}', 'plain'])).toEqual(['em_norm', 'f1', 'length']);
  expect(chooseMetricIds([])).toEqual(['rougeL', 'chrf', 'f1', 'length']);
});

it('resolveMetrics: given ids replace the choice, duplicates dropped, order kept', () => {
  expect(resolveMetrics(['yes'], ['chrf', 'em', 'chrf']).map((m) => m.id)).toEqual(['chrf', 'em']);
  expect(resolveMetrics(['yes'], []).map((m) => m.id)).toEqual(['em_norm', 'f1', 'length']);
  expect(resolveMetrics(['yes']).find((m) => m.id === 'length')!.comparable).toBe(false);
});

it('fixed ids score with their functions', () => {
  expect(metricFromId('em_norm').score('The Paris.', 'paris')).toBe(1);
  expect(metricFromId('rougeL').score('testing one', 'testing one two')).toBeCloseTo(0.8, 12);
  expect(metricFromId('chrf').score('ab', 'abc')).toBeCloseTo(7 / 11, 12);
  expect(metricFromId('json').score('{"a":1}', '')).toBe(1);
});

it('regex:PATTERN and regex:/PATTERN/flags test the prediction; g/y cannot make it stateful', () => {
  const digits = metricFromId('regex:^\\d+$');
  expect([digits.score('123', ''), digits.score('12a', '')]).toEqual([1, 0]);
  const yes = metricFromId('regex:/^yes\\b/i');
  expect([yes.score('Yes, indeed', ''), yes.score('no', '')]).toEqual([1, 0]);
  const g = metricFromId('regex:/a/g');
  expect([g.score('a', ''), g.score('a', ''), g.score('a', '')]).toEqual([1, 1, 1]);
  expect(yes.label).toBe('matches /^yes\\b/i');
  expect(() => metricFromId('regex:(unclosed')).toThrow(/regex:\(unclosed: not a valid regular expression/);
});

it('contains:TEXT is a case-sensitive substring test; unknown ids are refused with the known ones', () => {
  const m = metricFromId('contains:Best regards');
  expect([m.score('Thanks.\nBest regards, Ada', ''), m.score('best regards', '')]).toEqual([1, 0]);
  expect(() => metricFromId('contains:')).toThrow(/unknown metric/);
  expect(() => metricFromId('bleu')).toThrow(/unknown metric "bleu": use one of em, em_norm, f1, rougeL, chrf, json, json_fields, length/);
});
