import { describe, expect, it } from 'vitest';
import { SpeedMeter, throttle } from './progress';
import { formatBytes } from './errors';
import { gpuFitProblem } from './model-files';
import { parseContentRange, resolveUrl } from './http';

describe('SpeedMeter', () => {
  it('measures speed over its window and derives the ETA', () => {
    let t = 0;
    const m = new SpeedMeter(5000, () => t);
    expect(m.bytesPerSecond()).toBe(0);
    expect(m.eta(100)).toBeNull();
    m.add(0);
    for (let i = 0; i < 10; i++) {
      t += 1000;
      m.add(2000); // 2 kB/s
    }
    expect(m.bytesPerSecond()).toBeCloseTo(2000, 6);
    expect(m.eta(10_000)).toBeCloseTo(5, 6);
    expect(m.eta(0)).toBe(0);
    // Speed drops: the window forgets the old rate within 5 s.
    for (let i = 0; i < 6; i++) {
      t += 1000;
      m.add(500);
    }
    expect(m.bytesPerSecond()).toBeCloseTo(500, 6);
  });

  it('throttle lets a call through every interval and forced calls always', () => {
    let t = 0;
    const got: number[] = [];
    const f = throttle<number>((v) => got.push(v), 100, () => t);
    f(1);
    f(2);
    t = 50;
    f(3);
    f(4, true);
    t = 200;
    f(5);
    expect(got).toEqual([1, 4, 5]);
  });
});

describe('small helpers', () => {
  it('formatBytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(270 * 1024 * 1024)).toBe('270 MiB');
  });

  it('parseContentRange', () => {
    expect(parseContentRange('bytes 10-19/100')).toEqual({ start: 10, end: 19, total: 100 });
    expect(parseContentRange('bytes 0-0/*')).toEqual({ start: 0, end: 0, total: null });
    expect(parseContentRange(null)).toBeNull();
    expect(parseContentRange('items 1-2/3')).toBeNull();
  });

  it('resolveUrl follows the Hub layout and escapes revision and file', () => {
    expect(resolveUrl({ baseUrl: 'https://huggingface.co/', repo: 'a/b', revision: 'refs/pr/1' }, 'model.safetensors')).toBe('https://huggingface.co/a/b/resolve/refs%2Fpr%2F1/model.safetensors');
  });

  it('gpuFitProblem: SmolLM2-135M fits default limits in f32; Qwen2.5-0.5B does not, but fits a 1 GiB-buffer GPU', () => {
    const defaults = { maxBufferSize: 256 * 1024 * 1024, maxStorageBufferBindingSize: 128 * 1024 * 1024 };
    const smol = { vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, head_dim: 64, tie_word_embeddings: true };
    const qwen = { vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, tie_word_embeddings: true };
    expect(gpuFitProblem(smol, defaults)).toBeNull();
    expect(gpuFitProblem(qwen, defaults)).toMatch(/151936 × 896/);
    expect(gpuFitProblem(qwen, { ...defaults, maxBufferSize: 1 << 30 })).toBeNull();
    // Whole-model budget: SmolLM2-135M has ~135M weights → ~540 MB in f32.
    expect(gpuFitProblem(smol, defaults, { memoryBudget: 400e6 })).toMatch(/GPU memory/);
    expect(gpuFitProblem(smol, defaults, { memoryBudget: 600e6 })).toBeNull();
  });
});
