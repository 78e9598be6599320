// Token statistics of a tokenized dataset, what a chosen max length would cut, and a per-token
// preview for highlighting trained tokens.
//
// "Trained tokens" counts the targets the loss sees: labels[t] != -100 for t >= 1 (the first token
// is never predicted), i.e. exactly what batches.ts turns into targets.

import { IGNORE_INDEX } from './tokenize';
import type { TokenizedExample, TokenizedPair } from './tokenize';
import type { ChatTokenizer } from './tokenizer';

/** Trained targets among the first `limit` tokens of an example. */
export function trainedTokens(ex: TokenizedExample, limit = ex.labels.length): number {
  let n = 0;
  const end = Math.min(limit, ex.labels.length);
  for (let t = 1; t < end; t++) if (ex.labels[t] !== IGNORE_INDEX) n++;
  return n;
}

export interface LengthHistogram {
  /** Bin edges, ascending; bin i holds lengths in [edges[i], edges[i+1]). The last edge is exclusive max + 1. */
  edges: number[];
  counts: number[];
}

export interface DatasetStats {
  /** Sequences: an SFT example is one, a preference pair two (chosen and rejected). */
  examples: number;
  /** Preference pairs among the inputs. */
  pairs: number;
  totalTokens: number;
  trainedTokens: number;
  /** trainedTokens / totalTokens (0 for an empty set). */
  trainedShare: number;
  minLength: number;
  maxLength: number;
  meanLength: number;
  medianLength: number;
  p95Length: number;
  histogram: LengthHistogram;
  /** What truncation to `maxLength` tokens does (present when a max length was given). */
  truncation?: {
    maxLength: number;
    /** Examples longer than maxLength. */
    overLength: number;
    /** Tokens cut off in total. */
    tokensLost: number;
    /** Trained targets cut off. */
    trainedTokensLost: number;
    /** Rows of examples left with no trained token at all after truncation (they cannot train). */
    fullyTruncatedRows: number[];
  };
}

function quantile(sorted: Int32Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))];
}

/** A "nice" bin width (1, 2, 5 × 10^k) giving at most `bins` bins over [0, max]. */
function niceWidth(max: number, bins: number): number {
  const raw = Math.max(1, max / bins);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return Math.max(1, Math.ceil(m * p));
  return Math.ceil(raw);
}

/** Both sequences of every pair count: each is a forward pass, and truncation can cut either reply. */
export function datasetStats(items: readonly (TokenizedExample | TokenizedPair)[], opts: { maxLength?: number; bins?: number } = {}): DatasetStats {
  const examples = items.flatMap((e) => ('chosen' in e ? [e.chosen, e.rejected] : [e]));
  const pairs = items.length - items.filter((e) => !('chosen' in e)).length;
  const lengths = Int32Array.from(examples, (e) => e.inputIds.length);
  const sorted = lengths.slice().sort();
  let total = 0;
  let trained = 0;
  for (const e of examples) {
    total += e.inputIds.length;
    trained += trainedTokens(e);
  }
  const max = sorted.length ? sorted[sorted.length - 1] : 0;
  const width = niceWidth(max, opts.bins ?? 20);
  const nBins = Math.floor(max / width) + 1;
  const counts = new Array<number>(nBins).fill(0);
  for (const len of lengths) counts[Math.floor(len / width)]++;
  const edges = Array.from({ length: nBins + 1 }, (_, i) => i * width);
  const stats: DatasetStats = {
    examples: examples.length,
    pairs,
    totalTokens: total,
    trainedTokens: trained,
    trainedShare: total > 0 ? trained / total : 0,
    minLength: sorted.length ? sorted[0] : 0,
    maxLength: max,
    meanLength: examples.length ? total / examples.length : 0,
    medianLength: quantile(sorted, 0.5),
    p95Length: quantile(sorted, 0.95),
    histogram: { edges, counts },
  };
  if (opts.maxLength !== undefined) {
    const L = opts.maxLength;
    let overLength = 0;
    let tokensLost = 0;
    let trainedLost = 0;
    const fullyTruncatedRows: number[] = [];
    for (const e of examples) {
      const all = trainedTokens(e);
      const kept = trainedTokens(e, L);
      if (e.inputIds.length > L) {
        overLength++;
        tokensLost += e.inputIds.length - L;
      }
      trainedLost += all - kept;
      if (all > 0 && kept === 0) fullyTruncatedRows.push(e.row);
    }
    stats.truncation = { maxLength: L, overLength, tokensLost, trainedTokensLost: trainedLost, fullyTruncatedRows };
  }
  return stats;
}

/** A run of tokens for display: decoded text and whether the loss trains on it. */
export interface PreviewSegment {
  text: string;
  trained: boolean;
  ids: number[];
}

/**
 * One example's tokens as display segments, one per token, except that tokens which only decode
 * together (a multi-byte character split over byte tokens) are joined into one segment.
 * Each segment is decoded after the one before it and keeps only its own part: SentencePiece
 * decoders (Llama's Strip, Metaspace) drop the leading space of the first token decoded, so a
 * token decoded alone would lose its "▁" and the words would run together.
 */
export function previewTokens(tok: ChatTokenizer, ex: TokenizedExample): PreviewSegment[] {
  const out: PreviewSegment[] = [];
  let context: number[] = [];
  const textOf = (ids: number[]): string => {
    if (context.length === 0) return tok.decode(ids);
    const before = tok.decode(context);
    const both = tok.decode([...context, ...ids]);
    return both.startsWith(before) ? both.slice(before.length) : tok.decode(ids);
  };
  const emit = (ids: number[], text: string, trained: boolean) => {
    out.push({ text, trained, ids });
    context = ids;
  };
  let pending: number[] = [];
  let pendingTrained = false;
  for (let t = 0; t < ex.inputIds.length; t++) {
    const trained = ex.labels[t] !== IGNORE_INDEX;
    if (pending.length > 0 && trained !== pendingTrained) {
      emit(pending, textOf(pending), pendingTrained);
      pending = [];
    }
    pending.push(ex.inputIds[t]);
    pendingTrained = trained;
    const text = textOf(pending);
    // U+FFFD at the end means an incomplete UTF-8 sequence: wait for the next token (at most 4 bytes).
    if (!text.endsWith('\uFFFD') || pending.length >= 4) {
      emit(pending, text, trained);
      pending = [];
    }
  }
  if (pending.length) emit(pending, textOf(pending), pendingTrained);
  return out;
}
