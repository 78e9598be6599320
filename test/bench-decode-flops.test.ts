// The decode bench's FLOP count (bench/generation.ts), which its GFLOP/s and share of the matmul
// rate divide by: checked against the SmolLM2-135M figure worked out by hand.
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../src/engine/model/config';
import { decodeFlopsPerToken } from '../bench/generation';
import { SMOLLM2_135M } from '../bench/training';

describe('decodeFlopsPerToken', () => {
  const cfg = parseModelConfig(SMOLLM2_135M);

  it('SmolLM2-135M at position 511, LoRA r=16: linears + LoRA + attention over 512 keys + the LM head', () => {
    // Per layer, in × out: q, o 576×576; k, v 576×192 (3 kv heads × 64); gate, up, down 576×1536.
    const linears = 30 * 2 * (2 * 576 * 576 + 2 * 576 * 192 + 3 * 576 * 1536); // 212,336,640
    const lora = 30 * 2 * 16 * (2 * (576 + 576) + 2 * (576 + 192) + 3 * (576 + 1536)); // 9,768,960
    const attention = 30 * 4 * 9 * 64 * 512; // q·k and p·v, 9 query heads of 64: 35,389,440
    const lmHead = 2 * 576 * 49152; // 56,623,104
    expect(decodeFlopsPerToken(cfg, 511, 16)).toBe(linears + lora + attention + lmHead);
    expect(linears + lora + attention + lmHead).toBe(314_118_144);
  });

  it('grows by the attention term alone per position, and loses the LoRA term at rank 0', () => {
    expect(decodeFlopsPerToken(cfg, 100, 16) - decodeFlopsPerToken(cfg, 99, 16)).toBe(30 * 4 * 9 * 64);
    expect(decodeFlopsPerToken(cfg, 0, 16) - decodeFlopsPerToken(cfg, 0, 0)).toBe(9_768_960);
  });
});
