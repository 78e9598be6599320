import { describe, expect, it } from 'vitest';
import { chrf, chrfFromStatistics, chrfStatistics, exactMatch, exactMatchNormalized, lcsLength, lengthRatio, rougeL, rougeLScore, rougeTokens, squadNormalize, tokenF1, words } from './metrics';

describe('SQuAD exact match and F1 (evaluate-v1.1 normalize_answer, v2 empty convention)', () => {
  it('normalises: lowercase, ASCII punctuation out, then whole-word articles out, whitespace collapsed', () => {
    expect(squadNormalize('  The Quick,  Brown Fox! ')).toBe('quick brown fox');
    expect(squadNormalize('An apple a day')).toBe('apple day');
    expect(squadNormalize('theory of the anteater')).toBe('theory of anteater'); // "the" in a word stays
    expect(squadNormalize('a-b')).toBe('ab'); // punctuation goes first, so "a-b" is one word, not an article
    // Python's \b is Unicode-aware: "éa" is one word, so its "a" is no article (JS's ASCII \b would say it is).
    expect(squadNormalize('éa b')).toBe('éa b');
    // string.punctuation is ASCII: the inverted question mark stays.
    expect(squadNormalize('¿Qué?')).toBe('¿qué');
  });

  it('exact match: raw compares strings as they are, normalised compares normalize_answer', () => {
    expect(exactMatch('The Cat.', 'cat')).toBe(0);
    expect(exactMatch('cat', 'cat')).toBe(1);
    expect(exactMatch('cat ', 'cat')).toBe(0);
    expect(exactMatchNormalized('The Cat.', 'cat')).toBe(1);
    expect(exactMatchNormalized('black cat', 'cat')).toBe(0);
  });

  it('token F1: Counter overlap of normalised words', () => {
    // pred [cat, sat, on, mat], ref [cat, on, mat]: 3 common, P = 3/4, R = 1, F1 = 6/7.
    expect(tokenF1('the cat sat on the mat', 'a cat on a mat')).toBeCloseTo(6 / 7, 12);
    // Repeated tokens count once per occurrence in both: min(3, 1) = 1, P = 1/3, R = 1/2, F1 = 2/5.
    expect(tokenF1('cat cat cat', 'cat dog')).toBeCloseTo(0.4, 12);
    expect(tokenF1('dog', 'cat')).toBe(0);
    expect(tokenF1('The', '')).toBe(1); // both empty after normalisation
    expect(tokenF1('', 'cat')).toBe(0);
    expect(tokenF1('cat', '')).toBe(0);
  });

  it('splits on what Python str.split() splits on (NBSP, U+001C) and not on U+FEFF', () => {
    expect(words('a\u00a0b\x1cc')).toEqual(['a', 'b', 'c']);
    expect(words('a\ufeffb')).toEqual(['a\ufeffb']);
  });
});

describe('ROUGE-L (rouge-score, default tokenizer, no stemmer)', () => {
  it('tokenizes like rouge-score: lowercase, non-[a-z0-9] runs are separators', () => {
    expect(rougeTokens("Hello, World! It's 2024.")).toEqual(['hello', 'world', 'it', 's', '2024']);
    expect(rougeTokens('Café')).toEqual(['caf']);
    expect(rougeTokens('/')).toEqual([]);
  });

  it('LCS: rouge_scorer_test.testLcsTable', () => {
    expect(lcsLength([1, 2, 3, 4, 5], [2, 5, 3, 4])).toBe(3);
    expect(lcsLength([1, 2, 3, 4, 5], [8, 9])).toBe(0);
  });

  it('rouge_scorer_test: consecutive, non-consecutive and empty', () => {
    // scorer.score("testing one two", "testing one"): P 1, R 2/3, F 4/5; "testing two" the same.
    for (const pred of ['testing one', 'testing two']) {
      const s = rougeLScore(pred, 'testing one two');
      expect(s.precision).toBeCloseTo(1, 12);
      expect(s.recall).toBeCloseTo(2 / 3, 12);
      expect(s.fmeasure).toBeCloseTo(4 / 5, 12);
    }
    expect(rougeL('', 'testing one two')).toBe(0);
    expect(rougeL('', '')).toBe(0); // rouge-score: no tokens on a side → 0, even both
  });

  it('rouge_scorer_test.testRougeLAgainstRouge155: testdata lines 0 and 1 (ROUGE-1.5.5 values, 5 places)', () => {
    const targets = [
      "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L\n",
      "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN\n",
    ];
    const predictions = [
      "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi\n",
      "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD\n",
    ];
    const want = [
      { recall: 0.40741, precision: 0.6875, fmeasure: 0.51163 },
      { recall: 0.40476, precision: 0.65385, fmeasure: 0.5 },
    ];
    for (let i = 0; i < 2; i++) {
      const s = rougeLScore(predictions[i], targets[i]);
      expect(s.recall).toBeCloseTo(want[i].recall, 5);
      expect(s.precision).toBeCloseTo(want[i].precision, 5);
      expect(s.fmeasure).toBeCloseTo(want[i].fmeasure, 5);
    }
  });

  it('hand-computed: the README sentences share "the quick brown … jumps … the" (LCS 5 of 9 and 8 tokens)', () => {
    // P = 5/8, R = 5/9, F = 2PR/(P+R) = 10/17.
    expect(rougeL('The quick brown dog jumps on the log.', 'The quick brown fox jumps over the lazy dog')).toBeCloseTo(10 / 17, 12);
  });
});

describe('chrF (sacrebleu, no epsilon smoothing: effective-order averages)', () => {
  // sacrebleu test_chrf.py test_cases_effective_order (beta=3, eps_smoothing=False), scaled to [0, 1].
  it.each([
    ['a', 'a', 1],
    ['', 'reference', 0],
    ['a b c', 'a b c', 1],
    ['a b c', 'abc', 1],
    ['', 'c', 0],
    ['aa', 'ab', 0.25],
  ])('sacrebleu: chrF(%j, %j, beta 3) = %d', (hyp, ref, want) => {
    expect(chrf(hyp, ref, { beta: 3 })).toBeCloseTo(want, 6);
  });

  it('sacrebleu corpus case ["a","b"] vs ["a","c"] = 50 from summed sentence statistics', () => {
    const a = chrfStatistics('a', 'a');
    const b = chrfStatistics('b', 'c');
    expect(chrfFromStatistics(a.map((x, i) => x + b[i]), 3)).toBeCloseTo(0.5, 12);
  });

  it('hand-computed, beta 2: "ab" vs "abc" averages orders 1 and 2 only', () => {
    // order 1: P 2/2, R 2/3; order 2: P 1/1, R 1/2; order 3: no hypothesis n-gram, not effective.
    // avg P = 1, avg R = 7/12, F2 = 5·(7/12) / (4 + 7/12) = 7/11.
    expect(chrfStatistics('ab', 'abc').slice(0, 9)).toEqual([2, 3, 2, 1, 2, 1, 0, 1, 0]);
    expect(chrf('ab', 'abc')).toBeCloseTo(7 / 11, 12);
    expect(chrf('abc', 'xyz')).toBe(0);
  });

  it('characters are code points and whitespace is Python whitespace', () => {
    // 😀😀 vs 😀😁: order 1 P = R = 1/2, order 2 P = R = 0 → 1/4 (UTF-16 units would share surrogates).
    expect(chrf('😀😀', '😀😁')).toBeCloseTo(0.25, 12);
    expect(chrf('a\u00a0b\x1cc', 'abc')).toBe(1);
  });
});

describe('length ratio (whitespace words)', () => {
  it('is prediction words over reference words; an empty reference counts as one word', () => {
    expect(lengthRatio('a b c', 'x y')).toBe(1.5);
    expect(lengthRatio('a', 'x y z w')).toBe(0.25);
    expect(lengthRatio('', '')).toBe(1);
    expect(lengthRatio('a b', '')).toBe(2);
  });
});
