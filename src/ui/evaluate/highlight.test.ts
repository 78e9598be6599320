import { expect, it } from 'vitest';
import { markDifferences } from './highlight';

it('marks the words the reference lacks, ignoring case and punctuation, counting repeats; joined, the pieces are the answer', () => {
  const p = markDifferences('The  cat, the CAT sat.', 'the cat sat on a mat');
  expect(p.map((x) => x.text).join('')).toBe('The  cat, the CAT sat.');
  expect(p.filter((x) => x.differs).map((x) => x.text)).toEqual(['the', 'CAT']);
  expect(markDifferences('', 'x')).toEqual([]);
  expect(markDifferences('{"a": 1}', '{"a": 2}').filter((x) => x.differs).map((x) => x.text)).toEqual(['1}']);
});
