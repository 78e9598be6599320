import { describe, expect, it } from 'vitest';
import { estimateMemory } from './memory';
import { MODEL_PRESETS } from './presets';
import { DEFAULT_SETTINGS } from './settings';

const DEFAULT_LIMITS = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 };
const BIG_LIMITS = { maxBufferSize: 4 * 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 };

describe('memory estimate for the presets', () => {
  it('parses every preset config and counts about the published parameter sizes', () => {
    const [smol135, smol360, qwen] = MODEL_PRESETS.map((p) => estimateMemory(p.config, DEFAULT_SETTINGS, BIG_LIMITS));
    // Published sizes: 134.5M, 361.8M, 494.0M (tied embeddings counted once); 2% slack for norms/biases rounding.
    expect(smol135.baseParams / 134.5e6).toBeCloseTo(1, 1);
    expect(smol360.baseParams / 361.8e6).toBeCloseTo(1, 1);
    expect(qwen.baseParams / 494.0e6).toBeCloseTo(1, 1);
    expect(smol135.verdict).not.toBe('no');
  });

  it('refuses a model whose embedding exceeds the largest buffer, and notes range binding otherwise', () => {
    const qwen = MODEL_PRESETS[2];
    const r = estimateMemory(qwen.config, DEFAULT_SETTINGS, DEFAULT_LIMITS, 4); // 151936·896·4 B ≈ 519 MiB > 256 MiB
    expect(r.verdict).toBe('no');
    const smol = estimateMemory(MODEL_PRESETS[0].config, DEFAULT_SETTINGS, DEFAULT_LIMITS, 4); // 49152·576·4 ≈ 108 MiB
    expect(smol.verdict).not.toBe('no');
    const half = estimateMemory(MODEL_PRESETS[1].config, DEFAULT_SETTINGS, DEFAULT_LIMITS, 4); // 49152·960·4 ≈ 180 MiB > 128 MiB binding
    expect(half.notes.join(' ')).toMatch(/in ranges/);
  });

  it('grows with batch and sequence length', () => {
    const a = estimateMemory(MODEL_PRESETS[0].config, { ...DEFAULT_SETTINGS, seqLen: 256 }, BIG_LIMITS);
    const b = estimateMemory(MODEL_PRESETS[0].config, { ...DEFAULT_SETTINGS, seqLen: 1024 }, BIG_LIMITS);
    expect(b.activationBytes).toBeGreaterThan(a.activationBytes * 3);
    expect(b.weightBytes).toBe(a.weightBytes);
  });
});
