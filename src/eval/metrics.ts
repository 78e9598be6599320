// Text metrics, each a pure function (prediction, reference) → number in [0, 1] (length: a ratio).
// They reproduce the reference implementations people compare against, so our numbers mean what
// theirs mean: SQuAD v1.1/v2 evaluate scripts (EM, F1), Google's rouge-score (ROUGE-L), sacrebleu
// (chrF). Where those are Python, "character" is a Unicode code point and "whitespace" is what
// Python's str.split() / re's \s split on.

/** Python's str.isspace() characters: what str.split() and re's \s (str patterns) split on. */
// eslint-disable-next-line no-control-regex -- \x1c-\x1f are whitespace to Python's str.split().
const PY_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/** Python's `s.split()`: whitespace-separated words, no empty strings. */
export function words(s: string): string[] {
  return s.split(PY_WHITESPACE).filter((w) => w.length > 0);
}

/** Exact match of the raw strings (1 or 0): no trimming, no case folding. */
export function exactMatch(prediction: string, reference: string): number {
  return prediction === reference ? 1 : 0;
}

// string.punctuation (ASCII only, as in SQuAD's evaluate script).
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
// re.sub(r'\b(a|an|the)\b', ' ', text) with Python's Unicode \w ([\p{L}\p{N}_]); JS's \b is ASCII-only.
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/** SQuAD v1.1 normalize_answer: lowercase, drop punctuation, drop articles, collapse whitespace. */
export function squadNormalize(s: string): string {
  let noPunct = '';
  for (const ch of s.toLowerCase()) if (!PUNCTUATION.has(ch)) noPunct += ch;
  return words(noPunct.replace(ARTICLES, ' ')).join(' ');
}

/** SQuAD exact match: 1 when the normalised strings are equal. */
export function exactMatchNormalized(prediction: string, reference: string): number {
  return squadNormalize(prediction) === squadNormalize(reference) ? 1 : 0;
}

/** Multiset overlap of two token lists (Python's Counter(a) & Counter(b), summed). */
function overlap(a: readonly string[], b: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const t of b) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of a) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  return same;
}

/** F-measure of precision and recall with weight β (β = 1: the harmonic mean); 0 when both are 0. */
function fBeta(precision: number, recall: number, beta = 1): number {
  const b2 = beta * beta;
  const denom = b2 * precision + recall;
  return denom > 0 ? ((1 + b2) * precision * recall) / denom : 0;
}

/**
 * SQuAD token F1 over normalised words. Both empty → 1, one empty → 0 (SQuAD v2 convention, where
 * an empty answer means "no answer").
 */
export function tokenF1(prediction: string, reference: string): number {
  const p = words(squadNormalize(prediction));
  const r = words(squadNormalize(reference));
  if (p.length === 0 || r.length === 0) return p.length === r.length ? 1 : 0;
  const same = overlap(p, r);
  return same === 0 ? 0 : fBeta(same / p.length, same / r.length);
}

/** rouge-score's default tokenizer (no stemmer): lowercase, non-[a-z0-9] → space, split. */
export function rougeTokens(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(' ')
    .filter((t) => t.length > 0);
}

/** Length of the longest common subsequence (two rows of the DP table). */
export function lcsLength<T>(a: readonly T[], b: readonly T[]): number {
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

export interface PRF {
  precision: number;
  recall: number;
  fmeasure: number;
}

/**
 * ROUGE-L as rouge-score's RougeScorer(['rougeL']).score(reference, prediction) computes it:
 * P = LCS / |prediction|, R = LCS / |reference|, F = 2PR / (P + R); all 0 if either side has no
 * tokens (even both: rouge-score gives 0 there, not 1).
 */
export function rougeLScore(prediction: string, reference: string): PRF {
  const p = rougeTokens(prediction);
  const r = rougeTokens(reference);
  if (p.length === 0 || r.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(r, p);
  const precision = lcs / p.length;
  const recall = lcs / r.length;
  return { precision, recall, fmeasure: fBeta(precision, recall) };
}

/** The ROUGE-L F-measure (the number rouge-score users report). */
export function rougeL(prediction: string, reference: string): number {
  return rougeLScore(prediction, reference).fmeasure;
}

export interface ChrfOptions {
  /** Character n-gram orders 1..charOrder (sacrebleu default 6). */
  charOrder?: number;
  /** Recall weight (sacrebleu default 2). */
  beta?: number;
}

/**
 * Per-order [hypothesis n-grams, reference n-grams, matching n-grams], flattened (sacrebleu's
 * statistics layout), with whitespace removed first (sacrebleu's default, whitespace=False).
 * Summing these over sentences gives sacrebleu's corpus statistics.
 */
export function chrfStatistics(prediction: string, reference: string, charOrder = 6): number[] {
  const hyp = Array.from(prediction.split(PY_WHITESPACE).join(''));
  const ref = Array.from(reference.split(PY_WHITESPACE).join(''));
  const stats: number[] = [];
  for (let n = 1; n <= charOrder; n++) {
    const grams = (cs: string[]) => Array.from({ length: Math.max(0, cs.length - n + 1) }, (_, i) => cs.slice(i, i + n).join(''));
    const h = grams(hyp);
    const r = grams(ref);
    stats.push(h.length, r.length, overlap(h, r));
  }
  return stats;
}

/**
 * chrF from statistics, sacrebleu without epsilon smoothing (its default since 2.0, = chrF++.py):
 * precision and recall are averaged over the "effective" orders (those where both sides have
 * n-grams), then combined as F-β. Scaled to [0, 1] (sacrebleu reports ×100).
 */
export function chrfFromStatistics(stats: readonly number[], beta = 2): number {
  let precision = 0;
  let recall = 0;
  let effective = 0;
  for (let i = 0; i + 2 < stats.length; i += 3) {
    const [nHyp, nRef, nMatch] = [stats[i], stats[i + 1], stats[i + 2]];
    if (nHyp > 0 && nRef > 0) {
      precision += nMatch / nHyp;
      recall += nMatch / nRef;
      effective++;
    }
  }
  if (effective === 0) return 0;
  return fBeta(precision / effective, recall / effective, beta);
}

/** Sentence-level chrF (sacrebleu CHRF() defaults: char_order 6, word_order 0, beta 2), in [0, 1]. */
export function chrf(prediction: string, reference: string, opts: ChrfOptions = {}): number {
  return chrfFromStatistics(chrfStatistics(prediction, reference, opts.charOrder ?? 6), opts.beta ?? 2);
}

/**
 * Length of the prediction relative to the reference, in whitespace-separated words (words, not
 * characters, so tokenization-free and comparable across scripts that use spaces). 1 = same length;
 * an empty reference counts as one word so the ratio stays finite.
 */
export function lengthRatio(prediction: string, reference: string): number {
  const p = words(prediction).length;
  const r = words(reference).length;
  if (r === 0) return p === 0 ? 1 : p;
  return p / r;
}
