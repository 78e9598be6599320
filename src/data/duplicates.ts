// Exact-duplicate detection over normalised examples (same kind, same messages, same text).

import type { Example } from './types';

/** One set of identical examples: the first occurrence and the rows that repeat it. */
export interface DuplicateGroup {
  /** Row of the first occurrence (the one kept when duplicates are removed). */
  first: number;
  /** Rows of the later copies. */
  duplicates: number[];
}

function exampleKey(e: Example): string {
  return e.kind + '\u0000' + JSON.stringify(e.kind === 'preference' ? [e.messages, e.chosen, e.rejected] : e.messages);
}

/** 53-bit string hash (cyrb53): keeps the index small; collisions are resolved by comparing keys. */
function hash53(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Finds exact duplicates; groups are ordered by first occurrence. Holds hashes, not copies of the text. */
export function findDuplicates(examples: readonly Example[]): DuplicateGroup[] {
  const byHash = new Map<number, number[]>(); // hash → indices (into examples) of distinct keys
  const groupOf = new Map<number, DuplicateGroup>(); // index of first occurrence → group
  const groups: DuplicateGroup[] = [];
  examples.forEach((e, i) => {
    const key = exampleKey(e);
    const h = hash53(key);
    const candidates = byHash.get(h);
    if (!candidates) {
      byHash.set(h, [i]);
      return;
    }
    const same = candidates.find((j) => exampleKey(examples[j]) === key);
    if (same === undefined) {
      candidates.push(i);
      return;
    }
    let g = groupOf.get(same);
    if (!g) {
      g = { first: examples[same].row, duplicates: [] };
      groupOf.set(same, g);
      groups.push(g);
    }
    g.duplicates.push(e.row);
  });
  return groups.sort((a, b) => a.first - b.first);
}

/** Drops the later copies named by `groups`, keeping first occurrences and the original order. */
export function removeDuplicates(examples: readonly Example[], groups: readonly DuplicateGroup[]): Example[] {
  const drop = new Set<number>();
  for (const g of groups) for (const r of g.duplicates) drop.add(r);
  return examples.filter((e) => !drop.has(e.row));
}
