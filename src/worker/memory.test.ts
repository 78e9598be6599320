import { describe, expect, it } from 'vitest';
import { estimateMemory } from './memory';
import { MODEL_PRESETS } from './presets';
import { DEFAULT_SETTINGS, LORA_TARGETS } from './settings';
import type { GpuContext } from '../engine/gpu/context';
import { parseModelConfig } from '../engine/model/config';
import { DEFAULT_ENGINE_OPTIONS, resolveTrainingStorage } from '../train/session';

/** WebGPU's guaranteed limits, no shader-f16; and a discrete GPU's (f16 too). */
const DEFAULT_LIMITS = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20, f16: false };
const BIG_LIMITS = { maxBufferSize: 4 * 2 ** 30, maxStorageBufferBindingSize: 2 ** 30, f16: true };

describe('memory estimate for the presets', () => {
  it('parses every preset config and counts about the published parameter sizes', () => {
    const [smol135, smol360, qwen] = MODEL_PRESETS.map((p) => estimateMemory(p.config, DEFAULT_SETTINGS, BIG_LIMITS, 'f32'));
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

  it('SmolLM2-135M at batch 4 × 512, r=16 on all linears is the engine’s ~0.88 GB, not the old 4 GiB+ estimate', () => {
    const s = { ...DEFAULT_SETTINGS, rank: 16, targets: [...LORA_TARGETS], batchSize: 4, seqLen: 512 };
    const r = estimateMemory(MODEL_PRESETS[0].config, s, BIG_LIMITS, 'f32');
    expect(r.weightBytes).toBeGreaterThanOrEqual(r.baseParams * 4); // f32, padded per tensor
    expect(r.weightBytes).toBeLessThan(r.baseParams * 4 + 16 * 1000);
    expect(r.totalBytes).toBe(r.weightBytes + r.loraTrainingBytes + r.activationBytes + r.otherBytes);
    // The bench's engine-reported peak for this shape (bench/training.ts): 0.88 GB (0.92 before scratch shared buffers).
    expect(r.totalBytes / 1e9).toBeGreaterThan(0.86);
    expect(r.totalBytes / 1e9).toBeLessThan(0.9);
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

const preset = (id: string) => {
  const p = MODEL_PRESETS.find((x) => x.id === id);
  if (!p) throw new Error(`no preset ${id}`);
  return p;
};
/** Issue 13's benchmark shape: LoRA r=16 on all linears, batch 4 × 512. */
const R16_ALL = { ...DEFAULT_SETTINGS, rank: 16, targets: [...LORA_TARGETS], batchSize: 4, seqLen: 512 };
const bytesOf = (p: ReturnType<typeof preset>, storage: 'q8' | 'q4', limits = BIG_LIMITS) => estimateMemory(p.config, R16_ALL, limits, storage, p);

/**
 * Weight bytes counted by hand from config.json: GPU blocks are word-padded (Q8_0 34 → 36 bytes
 * per 32 values, Q4_0 18 → 20), q4 keeps the embedding Q8_0, norms stay f32.
 */
function handWeightBytes(c: { hidden: number; layers: number; q: number; kv: number; mlp: number; vocab: number; headDim: number; qkNorm: boolean; layerNorms?: number }, storage: 'q8' | 'q4'): number {
  const linear = c.hidden * (c.q + 2 * c.kv) + c.q * c.hidden + 3 * c.hidden * c.mlp;
  const perValue = storage === 'q8' ? 36 / 32 : 20 / 32;
  const norms = c.layers * ((c.layerNorms ?? 2) * c.hidden + (c.qkNorm ? 2 * c.headDim : 0)) + c.hidden;
  return c.vocab * c.hidden * (36 / 32) + c.layers * linear * perValue + 4 * norms;
}
/** LoRA r=16 on all seven linears: A [r, in] and B [out, r], four f32 buffers (weights, gradients, two AdamW moments). */
function handLoraBytes(c: { hidden: number; layers: number; q: number; kv: number; mlp: number }): number {
  const perLayer = (c.hidden + c.q) * 2 + 2 * (c.hidden + c.kv) + 3 * (c.hidden + c.mlp);
  return c.layers * 16 * perLayer * 4 * 4;
}

describe('weight formats for the new presets (issue 13 memory targets)', () => {
  const qwen3 = { hidden: 1024, layers: 28, q: 16 * 128, kv: 8 * 128, mlp: 3072, vocab: 151936, headDim: 128, qkNorm: true };
  const llama = { hidden: 2048, layers: 16, q: 32 * 64, kv: 8 * 64, mlp: 8192, vocab: 128256, headDim: 64, qkNorm: false };

  it('Qwen3-0.6B q8 at B=4 × T=512, r=16 all linears: weights and LoRA as counted by hand, under the issue’s 1.5 GB', () => {
    const r = bytesOf(preset('Qwen/Qwen3-0.6B'), 'q8');
    expect(r.storage).toBe('q8');
    expect(r.weightBytes).toBe(handWeightBytes(qwen3, 'q8')); // 670.7 MB
    expect(r.loraTrainingBytes).toBe(handLoraBytes(qwen3));
    expect(r.totalBytes).toBe(r.weightBytes + r.loraTrainingBytes + r.activationBytes + r.otherBytes);
    expect(r.totalBytes).toBeLessThanOrEqual(1.5e9); // 1.343 GB
  });

  it('Llama-3.2-1B q4: Q4_0 linears, Q8_0 embedding, as counted by hand; the whole plan fits the 2 GiB auto budget', () => {
    const r = bytesOf(preset('meta-llama/Llama-3.2-1B-Instruct'), 'q4');
    expect(r.weightBytes).toBe(handWeightBytes(llama, 'q4')); // 903.9 MB
    expect(r.loraTrainingBytes).toBe(handLoraBytes(llama));
    // 1.783 GB in all (the issue's 1.8 GB target, asserted below with the other presets').
    expect(r.totalBytes).toBeLessThanOrEqual(2 * 2 ** 30);
    expect(estimateMemory(preset('meta-llama/Llama-3.2-1B-Instruct').config, R16_ALL, BIG_LIMITS, 'auto').storage).toBe('q4');
  });

  it('the largest tensor is sized in its stored rows: a q8 embedding fits a buffer its f32 copy would not', () => {
    // Qwen3-0.6B's embedding: 151936·1024 values, 622 MB in f32 (over 256 MiB) but 175 MB in Q8_0.
    const q8 = bytesOf(preset('Qwen/Qwen3-0.6B'), 'q8', DEFAULT_LIMITS);
    expect(q8.largestTensorBytes).toBe((151936 * 1024 * 36) / 32);
    expect(q8.verdict).not.toBe('no');
    const f32 = estimateMemory(preset('Qwen/Qwen3-0.6B').config, R16_ALL, DEFAULT_LIMITS, 'f32');
    expect(f32.verdict).toBe('no');
    expect(f32.notes[0]).toMatch(/^Refused before download: f32 weights cannot run this model on this device: model\.embed_tokens\.weight needs 0\.58 GiB in one buffer; this GPU allows 0\.25 GiB/);
    // auto there steps past f32 (too big) and f16 (no shader-f16) to q8.
    const auto = estimateMemory(preset('Qwen/Qwen3-0.6B').config, R16_ALL, DEFAULT_LIMITS, 'auto');
    expect(auto.storage).toBe('q8');
    expect(auto.reason).toMatch(/f16: this adapter has no shader-f16; f32: model\.embed_tokens\.weight needs 0\.58 GiB/);
  });

  it('auto picks per preset on a discrete GPU: f32 where it fits 2 GiB, then f16, q8, q4', () => {
    const picks = Object.fromEntries(MODEL_PRESETS.map((p) => [p.id, estimateMemory(p.config, R16_ALL, BIG_LIMITS, 'auto', p)]));
    expect(picks['HuggingFaceTB/SmolLM2-135M-Instruct'].storage).toBe('f32');
    expect(picks['Qwen/Qwen3-0.6B'].storage).toBe('f16');
    // Nothing fits 2 GiB: the smallest plan, said so.
    expect(picks['Qwen/Qwen3-1.7B'].storage).toBe('q4');
    expect(picks['Qwen/Qwen3-1.7B'].reason).toMatch(/^auto: nothing fits the 2\.00 GiB budget/);
    expect(picks['Qwen/Qwen3-1.7B'].verdict).toBe('tight');
    for (const r of Object.values(picks)) {
      // The pick is the most precise format whose plan is under the budget (or the smallest).
      const runnable = r.formats.filter((f) => f.totalBytes !== null);
      const under = runnable.find((f) => f.totalBytes! <= 2 * 2 ** 30);
      expect(r.storage).toBe(under ? under.storage : runnable.at(-1)!.storage);
      expect(r.formats.map((f) => f.storage)).toEqual(['f32', 'f16', 'q8', 'q4']);
    }
  });

  it('download sizes: parameters × bfloat16, plus the LM head Qwen3 checkpoints store although tied', () => {
    const dl = (id: string) => estimateMemory(preset(id).config, R16_ALL, BIG_LIMITS, 'auto', preset(id)).downloadBytes;
    expect(dl('meta-llama/Llama-3.2-1B-Instruct')).toBe(1_235_814_400 * 2); // the published model.safetensors: 2.47 GB
    expect(dl('Qwen/Qwen3-0.6B')).toBe((596_049_920 + 151936 * 1024) * 2); // 1.50 GB
    expect(dl('HuggingFaceTB/SmolLM2-135M-Instruct')).toBe(134_515_008 * 2);
  });

  it('refuses before download a model no format can run on this GPU, naming each reason', () => {
    for (const id of ['Qwen/Qwen3-1.7B', 'meta-llama/Llama-3.2-1B-Instruct']) {
      const r = estimateMemory(preset(id).config, R16_ALL, DEFAULT_LIMITS, 'auto', preset(id));
      expect(r.verdict).toBe('no');
      expect(r.downloadRefusal).toMatch(/^This model cannot train on this GPU in any weight format, so it is not downloaded: f32: model\.embed_tokens\.weight needs .*; f16: needs shader-f16, which this GPU lacks; q8: .*; q4: model\.embed_tokens\.weight needs 0\.\d\d GiB in one buffer; this GPU allows 0\.25 GiB\.$/);
    }
    expect(estimateMemory(preset('Qwen/Qwen3-0.6B').config, R16_ALL, DEFAULT_LIMITS, 'f32').downloadRefusal).toBeNull(); // q8 and q4 run
  });
});

describe('the Model screen shows the storage a run here opens with', () => {
  it('estimateMemory’s pick is resolveTrainingStorage’s for every preset, on both devices, for auto and explicit choices', () => {
    for (const dev of [BIG_LIMITS, DEFAULT_LIMITS]) {
      const ctx = { caps: { ...dev, f16: dev.f16 } } as unknown as GpuContext;
      for (const p of MODEL_PRESETS) {
        const cfg = parseModelConfig(p.config);
        for (const weights of ['auto', 'q8'] as const) {
          const shown = estimateMemory(p.config, DEFAULT_SETTINGS, dev, weights, p);
          let opened: string;
          try {
            opened = resolveTrainingStorage(ctx, cfg, DEFAULT_SETTINGS, { ...DEFAULT_ENGINE_OPTIONS, weightStorage: weights }).storage;
          } catch {
            opened = 'refused';
          }
          expect(opened, `${p.id} ${weights}`).toBe(shown.verdict === 'no' ? 'refused' : shown.storage);
        }
      }
    }
  });
});

describe('Gemma 3 presets: the 262k-token embedding against the buffer limits', () => {
  const gemma1b = { hidden: 1152, layers: 26, q: 4 * 256, kv: 256, mlp: 6912, vocab: 262144, headDim: 256, qkNorm: true, layerNorms: 4 };

  it('the published configs: parameter counts and bfloat16 download sizes', () => {
    const at = (id: string) => estimateMemory(preset(id).config, R16_ALL, BIG_LIMITS, 'auto', preset(id));
    expect(at('google/gemma-3-270m-it').baseParams).toBe(268_098_176);
    expect(at('google/gemma-3-1b-it').baseParams).toBe(999_885_952);
    expect(at('google/gemma-3-270m-it').downloadBytes).toBe(268_098_176 * 2); // tied: no lm_head in the checkpoint
    const cfg = parseModelConfig(preset('google/gemma-3-1b-it').config);
    expect(cfg.gemma!.slidingLayers.filter((x) => !x).length).toBe(4); // layers 6, 12, 18, 24 global
    expect(cfg.gemma!.queryPreAttnScalar).toBe(256);
    expect(preset('google/gemma-3-1b-it').note).toMatch(/Gated on the Hub: accept Google’s Gemma Terms of Use/);
  });

  it('Gemma-3-1B q4 at B=4 × T=512, r=16 all linears: weights as counted by hand, under the issue’s 2 GB', () => {
    const r = bytesOf(preset('google/gemma-3-1b-it'), 'q4');
    expect(r.weightBytes).toBe(handWeightBytes(gemma1b, 'q4')); // Q4_0 linears, Q8_0 embedding: 776 MB
    expect(r.loraTrainingBytes).toBe(handLoraBytes(gemma1b));
    expect(r.totalBytes).toBeLessThanOrEqual(2e9); // 1.64 GB
  });

  it('with 256 MiB buffers: 270M runs only in 8 or 4 bits (its f32 embedding is 0.63 GiB); 1B is refused before download in every format', () => {
    const small = estimateMemory(preset('google/gemma-3-270m-it').config, R16_ALL, DEFAULT_LIMITS, 'auto', preset('google/gemma-3-270m-it'));
    expect(small.storage).toBe('q8');
    expect(small.formats.find((f) => f.storage === 'f32')!.problem).toBe('model.embed_tokens.weight needs 0.63 GiB in one buffer; this GPU allows 0.25 GiB');
    expect(small.largestTensorBytes).toBe((262144 * 640 * 36) / 32); // 189 MB of Q8_0 blocks
    expect(small.downloadRefusal).toBeNull();
    const f32 = estimateMemory(preset('google/gemma-3-270m-it').config, R16_ALL, DEFAULT_LIMITS, 'f32');
    expect(f32.verdict).toBe('no');
    const big = estimateMemory(preset('google/gemma-3-1b-it').config, R16_ALL, DEFAULT_LIMITS, 'auto', preset('google/gemma-3-1b-it'));
    expect(big.verdict).toBe('no');
    // 262144 · 1152 Q8_0 values: 340 MB, and q4 keeps the embedding Q8_0.
    expect(big.downloadRefusal).toMatch(/q8: model\.embed_tokens\.weight needs 0\.32 GiB in one buffer; this GPU allows 0\.25 GiB; q4: model\.embed_tokens\.weight needs 0\.32 GiB/);
    // A discrete GPU runs both; auto picks q8 for the 1B (f32 4.66 GiB, f16 2.80 GiB are over the 2 GiB budget).
    expect(estimateMemory(preset('google/gemma-3-1b-it').config, R16_ALL, BIG_LIMITS, 'auto', preset('google/gemma-3-1b-it')).storage).toBe('q8');
  });
});

describe('issue 13 memory targets, LoRA r=16 on all linears, B=4 × T=512, default settings', () => {
  // Each model in the weight format its target names; the plan is the engine's exact allocation
  // (memory-plan.gpu.test.ts), so a change that grows the arena fails here.
  it('the four presets the issue names carry their targets', () => {
    expect(MODEL_PRESETS.filter((p) => p.memoryTarget).map((p) => [p.id, p.memoryTarget!.storage, p.memoryTarget!.gb])).toEqual([
      ['Qwen/Qwen3-0.6B', 'q8', 1.5],
      ['Qwen/Qwen3-1.7B', 'q4', 2.5],
      ['meta-llama/Llama-3.2-1B-Instruct', 'q4', 1.8],
      ['google/gemma-3-1b-it', 'q4', 2],
    ]);
  });
  for (const p of MODEL_PRESETS.filter((x) => x.memoryTarget)) {
    const { storage, gb } = p.memoryTarget!;
    it(`${p.id} ${storage} ≤ ${gb} GB, its activations broken down by kind`, () => {
      const r = bytesOf(p, storage);
      expect(r.totalBytes).toBeLessThanOrEqual(gb * 1e9);
      expect(r.recompute).toBe('full'); // auto's 1 GiB activation budget: only 'full' fits at this shape
      expect(Object.values(r.activationParts).reduce((a, b) => a + b, 0)).toBe(r.activationBytes);
      // At 'full' nothing is kept per layer but the residual stream.
      expect(r.activationParts.kept).toBe(0);
      expect(r.activationParts.residual).toBeGreaterThan(r.activationBytes / 3);
      expect(r.notes.join(' ')).toMatch(/Activations \(\d+ MiB\): residual stream between layers \d+ MiB, one layer recomputed \d+ MiB, gradient scratch \d+ MiB/);
    });
  }

  it('SmolLM2-135M recomputes no more than before the shared scratch: each shape keeps its level or a cheaper one', () => {
    const smol = MODEL_PRESETS[0].config;
    const order = ['none', 'selective', 'full'];
    // [batch, seq, the level picked before scratch buffers were shared]
    for (const [batchSize, seqLen, before] of [[1, 64, 'none'], [1, 512, 'none'], [2, 512, 'selective'], [4, 512, 'full']] as const) {
      const r = estimateMemory(smol, { ...R16_ALL, batchSize, seqLen }, BIG_LIMITS, 'f32');
      expect(order.indexOf(r.recompute), `${batchSize} × ${seqLen}`).toBeLessThanOrEqual(order.indexOf(before));
    }
  });
});
