import { describe, expect, it } from 'vitest';
import { decodeTokensPerSecond, speedLine } from './speed';

describe('playground speed line', () => {
  it('decoding rate leaves out the prefill (time to the first token)', () => {
    // 11 tokens: the first after 500 ms, the other 10 in the next 1000 ms → 10 tokens/s.
    expect(decodeTokensPerSecond({ tokens: 11, ms: 1500, firstTokenMs: 500 })).toBeCloseTo(10, 12);
    expect(speedLine({ tokens: 11, ms: 1500, firstTokenMs: 500 })).toBe('11 tokens · 10.0 tokens/s decoding · first token after 500 ms');
  });

  it('one token (or none) has no decoding rate: the overall rate is shown instead', () => {
    expect(decodeTokensPerSecond({ tokens: 1, ms: 400, firstTokenMs: 400 })).toBeNull();
    expect(speedLine({ tokens: 1, ms: 400, firstTokenMs: 400 })).toBe('1 tokens · 2.5 tokens/s overall · first token after 400 ms');
    expect(speedLine({ tokens: 0, ms: 10, firstTokenMs: null })).toBe('0 tokens · 0.0 tokens/s overall');
  });
});
