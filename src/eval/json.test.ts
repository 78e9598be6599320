import { expect, it } from 'vitest';
import { jsonEqual, jsonFieldAgreement, jsonValid, parseJsonOutput } from './json';

it('parseJsonOutput: the whole text (trimmed, one code fence allowed) must be an object or array', () => {
  expect(parseJsonOutput(' {"a": 1}\n')).toEqual({ a: 1 });
  expect(parseJsonOutput('```json\n{"a": [1, 2]}\n```')).toEqual({ a: [1, 2] });
  expect(parseJsonOutput('```\n[1]\n```')).toEqual([1]);
  expect(parseJsonOutput('Here it is: {"a": 1}')).toBeUndefined();
  expect(parseJsonOutput('{"a": 1} hope this helps')).toBeUndefined();
  expect(parseJsonOutput('42')).toBeUndefined();
  expect(parseJsonOutput('"text"')).toBeUndefined();
  expect(parseJsonOutput('{"a": 1,}')).toBeUndefined();
  expect(jsonValid('[]', '')).toBe(1);
  expect(jsonValid('{a: 1}', '')).toBe(0);
});

it('jsonEqual: objects ignore key order, arrays do not', () => {
  expect(jsonEqual({ x: 1, y: [1, { z: null }] }, { y: [1, { z: null }], x: 1 })).toBe(true);
  expect(jsonEqual([1, 2], [2, 1])).toBe(false);
  expect(jsonEqual({ x: 1 }, { x: 1, y: 2 })).toBe(false);
  expect(jsonEqual({ x: 1 }, [1])).toBe(false);
  expect(jsonEqual(1, 1.0)).toBe(true);
  expect(jsonEqual('1', 1)).toBe(false);
});

it('jsonFieldAgreement: share of the reference keys whose values the prediction has, deep-equal', () => {
  const ref = '{"name": "Ada", "tags": ["a", "b"], "age": 36}';
  expect(jsonFieldAgreement('{"age": 36, "name": "Ada", "tags": ["a", "b"], "extra": true}', ref)).toBe(1);
  expect(jsonFieldAgreement('{"name": "Ada", "tags": ["b", "a"], "age": 36}', ref)).toBeCloseTo(2 / 3, 12);
  expect(jsonFieldAgreement('{"name": "Ada"}', ref)).toBeCloseTo(1 / 3, 12);
  expect(jsonFieldAgreement('{"name": "Ada", "age": 36', ref)).toBe(0); // invalid
  expect(jsonFieldAgreement('["Ada"]', ref)).toBe(0); // not an object
  expect(jsonFieldAgreement('{"a": 1}', '{}')).toBe(1);
  expect(jsonFieldAgreement('[1, 2]', '[1, 2]')).toBe(1);
  expect(jsonFieldAgreement('[1, 2, 3]', '[1, 2]')).toBe(0);
  expect(jsonFieldAgreement('{"a": 1}', 'not json')).toBe(0);
});
