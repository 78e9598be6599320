import { describe, expect, it } from 'vitest';
import { peftInitialValues, planLoraLayout, loraScalingOf } from './lora-params';
import { parseModelConfig } from './config';
import { Rng } from '../optim/rng';

const smol = parseModelConfig({
  model_type: 'llama', hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9,
  num_key_value_heads: 3, vocab_size: 49152, tie_word_embeddings: true,
});

describe('LoRA layout and PEFT init', () => {
  it('packs every module at 256-byte boundaries with no overlap', () => {
    const layout = planLoraLayout(smol, { r: 16, alpha: 32, dropout: 0, targetModules: ['v_proj', 'q_proj', 'down_proj'], useRslora: false });
    expect(layout.slots.length).toBe(90);
    // Stable module order whatever the user's order: q before v before down.
    expect(layout.slots.slice(0, 3).map((s) => s.module)).toEqual(['q_proj', 'v_proj', 'down_proj']);
    // 16·(576+576) + 16·(576+192) + 16·(1536+576) per layer.
    expect(layout.paramCount).toBe(30 * 16 * (1152 + 768 + 2112));
    const ranges: [number, number][] = [];
    for (const s of layout.slots) {
      expect(s.aOffset % 64).toBe(0);
      expect(s.bOffset % 64).toBe(0);
      ranges.push([s.aOffset, s.aOffset + 16 * s.inFeatures], [s.bOffset, s.bOffset + s.outFeatures * 16]);
    }
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThanOrEqual(ranges[i - 1][1]);
    expect(ranges[ranges.length - 1][1]).toBeLessThanOrEqual(layout.totalFloats);
  });

  it('A ~ U(-1/√in, 1/√in) (kaiming_uniform a=√5), B and padding zero, deterministic per seed', () => {
    const layout = planLoraLayout(smol, { r: 8, alpha: 16, dropout: 0.05, targetModules: ['q_proj', 'down_proj'], useRslora: false, layersToTransform: [0, 29] });
    const v = peftInitialValues(layout, new Rng(7));
    expect(Array.from(peftInitialValues(layout, new Rng(7)))).toEqual(Array.from(v));
    const inA = new Set<number>();
    for (const s of layout.slots) {
      const bound = 1 / Math.sqrt(s.inFeatures);
      const A = v.subarray(s.aOffset, s.aOffset + 8 * s.inFeatures);
      let maxAbs = 0;
      let sumSq = 0;
      for (const x of A) {
        maxAbs = Math.max(maxAbs, Math.abs(x));
        sumSq += x * x;
      }
      expect(maxAbs).toBeLessThanOrEqual(bound);
      expect(maxAbs).toBeGreaterThan(0.95 * bound);
      // Variance of U(-b, b) is b²/3; with ≥ 4608 samples the estimate is within ~10%.
      expect(sumSq / A.length).toBeGreaterThan(0.85 * (bound * bound) / 3);
      expect(sumSq / A.length).toBeLessThan(1.15 * (bound * bound) / 3);
      for (let i = 0; i < 8 * s.inFeatures; i++) inA.add(s.aOffset + i);
    }
    for (let i = 0; i < v.length; i++) if (!inA.has(i)) expect(v[i]).toBe(0);
  });

  it('scaling alpha/r or alpha/√r (rsLoRA); invalid settings rejected', () => {
    expect(loraScalingOf({ r: 16, alpha: 32, useRslora: false })).toBe(2);
    expect(loraScalingOf({ r: 16, alpha: 32, useRslora: true })).toBe(8);
    expect(() => planLoraLayout(smol, { r: 0, alpha: 1, dropout: 0, targetModules: ['q_proj'], useRslora: false })).toThrow(/rank/);
    expect(() => planLoraLayout(smol, { r: 4, alpha: 1, dropout: 1, targetModules: ['q_proj'], useRslora: false })).toThrow(/dropout/);
    expect(() => planLoraLayout(smol, { r: 4, alpha: 1, dropout: 0, targetModules: [], useRslora: false })).toThrow(/target/);
    expect(() => planLoraLayout(smol, { r: 4, alpha: 1, dropout: 0, targetModules: ['q_proj'], useRslora: false, layersToTransform: [30] })).toThrow(/30 layers/);
  });
});
