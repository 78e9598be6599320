import { describe, expect, it } from 'vitest';
import { effectiveTopK, sampleArgmax, sampleTopKTopP } from './sample';

const pick = (logits: number[], temperature: number, topK: number, topP: number, u: number): number => {
  const out = new Uint32Array(2);
  sampleTopKTopP(out, logits, logits.length, temperature, topK, topP, u);
  return out[0];
};
const probOf = (out: Uint32Array): number => new Float32Array(out.buffer)[1];

describe('sampling reference', () => {
  it('argmax takes the lowest index among equal maxima and reports the logit', () => {
    const out = new Uint32Array(2);
    sampleArgmax(out, [1, 3, 3, 2], 4);
    expect(out[0]).toBe(1);
    expect(probOf(out)).toBe(3);
  });

  it('maps u onto the cumulative distribution, with top-p truncation', () => {
    const l = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    expect([0.1, 0.6, 0.9].map((u) => pick(l, 1, 3, 1, u))).toEqual([0, 1, 2]);
    // topP 0.7: token 2 has 0.8 before it, so only {0, 1} remain (mass 0.8); u=0.9 → r=0.72 → 1.
    expect(pick(l, 1, 3, 0.7, 0.9)).toBe(1);
    expect(pick(l, 1, 3, 0.5, 0.99)).toBe(0); // 0.5 reaches topP by itself
    expect(pick(l, 1, 2, 1, 0.7)).toBe(1); // top-2: 0.5/0.8 = 0.625 < 0.7
    const out = new Uint32Array(2);
    sampleTopKTopP(out, l, 3, 1, 2, 1, 0.7);
    expect(probOf(out)).toBeCloseTo(0.3 / 0.8, 6);
  });

  it('draws tokens with the tempered, truncated probabilities', () => {
    const l = [0.3, -1, 2, 0.9, 1.5, -0.2];
    const temperature = 0.7, topK = 4, N = 20000;
    const counts = new Array(l.length).fill(0);
    for (let i = 0; i < N; i++) counts[pick(l, temperature, topK, 1, (i + 0.5) / N)]++;
    const top = [2, 4, 3, 0];
    const w = top.map((i) => Math.exp(l[i] / temperature));
    const Z = w.reduce((a, b) => a + b);
    top.forEach((tok, j) => expect(counts[tok] / N).toBeCloseTo(w[j] / Z, 3));
    expect(counts[1] + counts[5]).toBe(0);
  });

  it('temperature -> 0 becomes greedy', () => {
    const l = [0.1, 0.5, 0.49, -2];
    for (const u of [0, 0.5, 0.999]) {
      expect(pick(l, 0, 50, 0.9, u)).toBe(1);
      expect(pick(l, 1e-4, 50, 0.9, u)).toBe(1); // 0.01/1e-4 = 100 nats apart: all mass on token 1
    }
  });

  it('topK 0 means 256 and larger values are rejected', () => {
    expect(effectiveTopK(0, 1000)).toBe(256);
    expect(effectiveTopK(0, 10)).toBe(10);
    expect(() => effectiveTopK(257, 1000)).toThrow();
  });
});

describe('topKIndices', () => {
  it('equals a full sort (larger first, lower index among equals)', async () => {
    const { topKIndices } = await import('./sample');
    let seed = 3;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (const [V, k] of [[1, 1], [10, 3], [500, 256], [2000, 40], [300, 300]]) {
      const l = Array.from({ length: V }, () => Math.floor(rand() * 50)); // many ties on purpose
      const want = Array.from({ length: V }, (_, i) => i).sort((a, b) => l[b] - l[a] || a - b).slice(0, k);
      expect(topKIndices(l, V, k)).toEqual(want);
    }
  });
});
