// The per-example table marks where an answer departs from the reference: its words that the
// reference does not have (compared case- and punctuation-insensitively, counted with repeats).
export interface Piece {
  text: string;
  /** A word the reference lacks (or has fewer times). */
  differs: boolean;
}

const key = (w: string) => w.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');

/** The answer as pieces (words and the whitespace between them, in order: joined they give the answer back). */
export function markDifferences(answer: string, reference: string): Piece[] {
  const left = new Map<string, number>();
  for (const w of reference.split(/\s+/)) if (key(w)) left.set(key(w), (left.get(key(w)) ?? 0) + 1);
  return answer.split(/(\s+)/).filter((t) => t !== '').map((text) => {
    const k = key(text);
    if (!k) return { text, differs: false };
    const n = left.get(k) ?? 0;
    if (n > 0) left.set(k, n - 1);
    return { text, differs: n === 0 };
  });
}
