import { describe, expect, it } from 'vitest';
import { tinyLlamaTokenizerFiles, tinyTokenizerFiles } from '../../test/fixtures/tiny-tokenizer';
import { datasetStats, previewTokens, trainedTokens } from './stats';
import { IGNORE_INDEX, tokenizeExample } from './tokenize';
import type { TokenizedExample } from './tokenize';
import { loadTokenizer } from './tokenizer';

/** labels pattern: 'p' untrained, 't' trained. */
function ex(row: number, pattern: string): TokenizedExample {
  const inputIds = Int32Array.from(pattern, (_, i) => i + 3);
  const labels = Int32Array.from(pattern, (c, i) => (c === 't' ? i + 3 : IGNORE_INDEX));
  return { row, inputIds, labels };
}

describe('datasetStats', () => {
  const data = [ex(0, 'pppttt'), ex(1, 'pt'), ex(2, 'ppppppppttt'), ex(3, 'tttt'), ex(4, 'pppppppppppppppppppppt')];

  it('counts tokens and trained targets (the first token is never a target)', () => {
    expect(data.map((e) => trainedTokens(e))).toEqual([3, 1, 3, 3, 1]);
    const s = datasetStats(data, { bins: 5 });
    expect(s.examples).toBe(5);
    expect(s.totalTokens).toBe(6 + 2 + 11 + 4 + 22);
    expect(s.trainedTokens).toBe(11);
    expect(s.trainedShare).toBeCloseTo(11 / 45, 12);
    expect([s.minLength, s.maxLength, s.medianLength]).toEqual([2, 22, 6]);
    expect(s.meanLength).toBeCloseTo(9, 12);
    // Histogram: width 5 (nice width for max 22 in 5 bins) → bins [0,5) [5,10) [10,15) [15,20) [20,25).
    expect(s.histogram.edges).toEqual([0, 5, 10, 15, 20, 25]);
    expect(s.histogram.counts).toEqual([2, 1, 1, 0, 1]);
    expect(s.truncation).toBeUndefined();
  });

  it('reports what truncation to a max length costs', () => {
    const s = datasetStats(data, { maxLength: 8 });
    expect(s.truncation).toEqual({
      maxLength: 8,
      overLength: 2, // rows 2 and 4
      tokensLost: 3 + 14,
      trainedTokensLost: 3 + 1, // row 2 keeps none of its 3, row 4 loses its 1
      fullyTruncatedRows: [2, 4],
    });
  });

  it('handles an empty set', () => {
    const s = datasetStats([], { maxLength: 4 });
    expect(s.examples).toBe(0);
    expect(s.trainedShare).toBe(0);
    expect(s.histogram.counts).toEqual([0]);
  });
});

describe('previewTokens', () => {
  it('gives one segment per token with its trained flag, joining split multi-byte characters', () => {
    const tok = loadTokenizer(tinyTokenizerFiles());
    const t = tokenizeExample(tok, {
      kind: 'chat',
      row: 0,
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Oui 😀 é' },
      ],
    });
    const segs = previewTokens(tok, t);
    expect(segs.map((s) => s.text).join('')).toBe(tok.decode(t.inputIds));
    expect(segs.flatMap((s) => s.ids)).toEqual(Array.from(t.inputIds));
    expect(segs.every((s) => !s.text.includes('\uFFFD'))).toBe(true);
    const emoji = segs.find((s) => s.text.includes('😀'))!;
    expect(emoji.ids.length).toBeGreaterThan(1); // 4 byte tokens decoded together
    expect(emoji.trained).toBe(true);
    expect(segs.filter((s) => s.trained).map((s) => s.text).join('')).toBe('Oui 😀 é<|im_end|>');
    expect(segs.find((s) => s.text === '<|im_start|>')!.trained).toBe(false);
  });

  it('keeps the leading space of SentencePiece tokens (Llama decoders strip it from a token decoded alone)', () => {
    const tok = loadTokenizer(tinyLlamaTokenizerFiles());
    const t = tokenizeExample(tok, { kind: 'completion', row: 0, messages: [{ role: 'user', content: 'The quick brown fox' }, { role: 'assistant', content: ' jumps over the lazy dog.' }] });
    const word = Array.from(t.inputIds).find((id) => tok.decode([id]) === 'dog')!;
    expect(tok.decode([word])).toBe('dog'); // the decoder behaviour this guards against
    const segs = previewTokens(tok, t);
    expect(segs.map((s) => s.text).join('')).toBe(tok.decode(t.inputIds));
    expect(segs.find((s) => s.ids.includes(word))!.text).toBe(' dog');
    expect(segs.filter((s) => s.trained).map((s) => s.text).join('')).toBe(` jumps over the lazy dog.${tok.eosToken}`);
  });
});
