import { describe, expect, it } from 'vitest';
import { estimateMemory } from './memory';
import { MODEL_PRESETS } from './presets';
import { DEFAULT_SETTINGS, LORA_TARGETS } from './settings';

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
    const r = estimateMemory(qwen.config, DEFAULT_SETTINGS, DEFAULT_LIMITS, 'f32'); // 151936·896·4 B ≈ 519 MiB > 256 MiB
    expect(r.verdict).toBe('no');
    const smol = estimateMemory(MODEL_PRESETS[0].config, DEFAULT_SETTINGS, DEFAULT_LIMITS, 'f32'); // 49152·576·4 ≈ 108 MiB
    expect(smol.verdict).not.toBe('no');
    const half = estimateMemory(MODEL_PRESETS[1].config, DEFAULT_SETTINGS, DEFAULT_LIMITS, 'f32'); // 49152·960·4 ≈ 180 MiB > 128 MiB binding
    expect(half.notes.join(' ')).toMatch(/in ranges/);
  });

  it('SmolLM2-135M at batch 4 × 512, r=16 on all linears is the engine’s ~0.92 GB, not the old 4 GiB+ estimate', () => {
    const s = { ...DEFAULT_SETTINGS, rank: 16, targets: [...LORA_TARGETS], batchSize: 4, seqLen: 512 };
    const r = estimateMemory(MODEL_PRESETS[0].config, s, BIG_LIMITS, 'f32');
    expect(r.weightBytes).toBeGreaterThanOrEqual(r.baseParams * 4); // f32, padded per tensor
    expect(r.weightBytes).toBeLessThan(r.baseParams * 4 + 16 * 1000);
    expect(r.totalBytes).toBe(r.weightBytes + r.loraTrainingBytes + r.activationBytes + r.otherBytes);
    // The bench's engine-reported peak for this shape (bench/training.ts) is 0.92 GB.
    expect(r.totalBytes / 1e9).toBeGreaterThan(0.9);
    expect(r.totalBytes / 1e9).toBeLessThan(0.95);
    expect(r.verdict).toBe('likely');
    // f16 storage halves the matrices only.
    const h = estimateMemory(MODEL_PRESETS[0].config, s, BIG_LIMITS, 'f16');
    expect(h.weightBytes).toBeLessThan(r.weightBytes * 0.51);
    expect(h.activationBytes).toBe(r.activationBytes);
  });

  it('activations scale with batch × tokens: no T² attention scores and no full B·T·V logits', () => {
    const smol = MODEL_PRESETS[0].config;
    const at = (batchSize: number, seqLen: number) => estimateMemory(smol, { ...DEFAULT_SETTINGS, batchSize, seqLen }, BIG_LIMITS, 'f32');
    const a = at(4, 512);
    const b = at(1, 2048); // same B·T, four times the sequence length
    expect(b.recompute).toBe(a.recompute);
    expect(b.activationBytes).toBe(a.activationBytes);
    const c = at(4, 1024);
    expect(c.recompute).toBe(a.recompute);
    expect(c.activationBytes).toBeGreaterThan(a.activationBytes * 1.5);
    expect(c.activationBytes).toBeLessThan(a.activationBytes * 2);
    expect(c.weightBytes).toBe(a.weightBytes);
    // B·T·V f32 logits alone would be 4·1024·49152·4 B = 805 MB; the LM head runs in chunks.
    expect(c.activationBytes).toBeLessThan(4 * 1024 * 49152 * 4);
  });

  it('says which recompute level the trainer’s default (auto, within 1 GiB of activations) picks', () => {
    const smol = MODEL_PRESETS[0].config;
    const small = estimateMemory(smol, { ...DEFAULT_SETTINGS, batchSize: 1, seqLen: 64 }, BIG_LIMITS, 'f32');
    expect(small.recompute).toBe('none');
    expect(small.notes.join(' ')).toMatch(/every activation is kept/);
    const big = estimateMemory(smol, DEFAULT_SETTINGS, BIG_LIMITS, 'f32'); // 4 × 512: keeping all would be over 1 GiB
    expect(big.recompute).toBe('full');
    expect(big.notes.join(' ')).toMatch(/each layer is recomputed/);
  });
});
