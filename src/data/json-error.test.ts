import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { jsonErrorOffset, lineColumn } from './json-error';

function parses(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

describe('jsonErrorOffset', () => {
  it('agrees with JSON.parse on valid documents and on random corruptions', () => {
    fc.assert(
      fc.property(fc.json(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', '{', ':', 'x', '\n'), (doc, at, insert) => {
        expect(jsonErrorOffset(doc)).toBe(-1);
        const k = at % (doc.length + 1);
        const broken = doc.slice(0, k) + insert + doc.slice(k);
        expect(jsonErrorOffset(broken) === -1).toBe(parses(broken));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with JSON.parse on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => {
        expect(jsonErrorOffset(s) === -1).toBe(parses(s));
      }), { numRuns: 3000 });
  });

  it('points at the offending character', () => {
    const text = '[\n  {"a": 1},\n  {"a": }\n]';
    const off = jsonErrorOffset(text);
    expect(text[off]).toBe('}');
    expect(lineColumn(text, off)).toEqual({ line: 3, column: 9 });
    expect(jsonErrorOffset('[1, 2,]')).toBe(6);
    expect(jsonErrorOffset('{"a": 1} x')).toBe(9);
  });
});
