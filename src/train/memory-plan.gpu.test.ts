// The memory figure the studio and `inspect` show (planTrainingMemory) against the peak GPU
// memory the engine really allocates (GpuContext's high-water mark) while a TrainingSession
// opens and runs one optimizer step, over shapes that vary layers, widths, GQA, biases, tied
// embeddings, B, T, rank, targets, weight dtype and recompute level.
import { describe, expect, it } from 'vitest';
import { buildTinyModel, type TinyModelOptions } from '../../test/fixtures/tiny-model';
import { getTestContext } from '../../test/gpu-device';
import { memorySource, SafetensorsFile } from '../engine/model/safetensors';
import { loadTokenizer, tokenizeExamples, type Example } from '../data';
import { planTrainingMemory } from './memory-plan';
import type { WeightStorage } from '../engine/model/weights';
import { DEFAULT_SETTINGS, type LoraTarget, type TrainSettings } from './settings';
import { TrainingSession, type EngineOptions } from './session';

interface Shape {
  name: string;
  model: TinyModelOptions;
  s: Partial<TrainSettings>;
  engine: Partial<EngineOptions>;
  /** Run on the fast-path device (shader-f16) rather than the f32 fallback. */
  fast?: boolean;
  /** The LM-head logits chunk lives in dact (a wide MLP): the plan must count no buffer for it. */
  logitsInDact?: boolean;
}

const ALL: LoraTarget[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

const SHAPES: Shape[] = [
  { name: '2 layers, C=32, B=2 T=64, r=4 all linears, f32, recompute auto', model: { layers: 2, hiddenSize: 32 }, s: { batchSize: 2, seqLen: 64, rank: 4, targets: ALL }, engine: { weightStorage: 'f32', recompute: 'auto' } },
  { name: '3 layers, C=64, MQA, untied, B=3 T=48, r=8 on q,v, f16 weights', model: { layers: 3, hiddenSize: 64, numHeads: 4, numKvHeads: 1, intermediateSize: 96, extraVocab: 300 }, s: { batchSize: 3, seqLen: 48, rank: 8, targets: ['q_proj', 'v_proj'] }, engine: { weightStorage: 'f16', recompute: 'auto' }, fast: true },
  { name: 'qwen2 biases, tied, 4 layers, B=1 T=100, r=16, selective recompute', model: { architecture: 'qwen2', layers: 4, hiddenSize: 48, numHeads: 6, numKvHeads: 2, tied: true }, s: { batchSize: 1, seqLen: 100, rank: 16, targets: ALL }, engine: { weightStorage: 'f32', recompute: 'selective' } },
  { name: 'qwen3 q/k norms, head_dim 16 ≠ C/H, tied, B=2 T=50, r=8, no recompute', model: { architecture: 'qwen3', layers: 3, hiddenSize: 32, numHeads: 4, numKvHeads: 2, headDim: 16, tied: true }, s: { batchSize: 2, seqLen: 50, rank: 8, targets: ALL }, engine: { weightStorage: 'f32', recompute: false } },
  { name: 'qwen3 q/k norms, head_dim 16, 4 layers, B=2 T=50, r=4, selective recompute (q, k shared)', model: { architecture: 'qwen3', layers: 4, hiddenSize: 32, numHeads: 4, numKvHeads: 2, headDim: 16 }, s: { batchSize: 2, seqLen: 50, rank: 4, targets: ALL }, engine: { weightStorage: 'f32', recompute: 'selective' } },
  { name: 'DPO: 2 pairs per batch (B=4 rows) T=40, r=4 all linears, f32', model: { layers: 2, hiddenSize: 32 }, s: { objective: 'dpo', batchSize: 2, seqLen: 40, rank: 4, targets: ALL }, engine: { weightStorage: 'f32', recompute: false } },
  { name: '2 layers, C=32, B=4 T=40, r=2 on MLP, full recompute, f16 weights', model: { layers: 2, hiddenSize: 32, extraVocab: 2000 }, s: { batchSize: 4, seqLen: 40, rank: 2, targets: ['gate_proj', 'up_proj', 'down_proj'] }, engine: { weightStorage: 'f16', recompute: true }, fast: true },
  // gemma3: output-norm activations per layer, two RoPE tables.
  { name: 'gemma3, 3 layers (local, global, local), tied, B=2 T=40, r=4 all linears, no recompute', model: { architecture: 'gemma3_text', layers: 3, hiddenSize: 32, numHeads: 4, numKvHeads: 1, headDim: 16, tied: true }, s: { batchSize: 2, seqLen: 40, rank: 4, targets: ALL }, engine: { weightStorage: 'f32', recompute: false } },
  { name: 'gemma3, 4 layers, B=2 T=40, r=4 all linears, selective recompute', model: { architecture: 'gemma3_text', layers: 4, hiddenSize: 32, numHeads: 4, numKvHeads: 2, headDim: 16 }, s: { batchSize: 2, seqLen: 40, rank: 4, targets: ALL }, engine: { weightStorage: 'f32', recompute: 'selective' } },
  // Quantized on load: rows of whole 32-value blocks (C = 32/64, F = 64/96).
  { name: '2 layers, C=32, untied, B=2 T=32, r=4 all linears, q8 weights', model: { layers: 2, hiddenSize: 32, intermediateSize: 64, extraVocab: 500 }, s: { batchSize: 2, seqLen: 32, rank: 4, targets: ALL }, engine: { weightStorage: 'q8', recompute: 'auto' } },
  // A wide MLP: the logits chunk and the attention gradients live in the MLP's buffers.
  { name: '2 layers, C=32, F=512, B=2 T=64, r=4 all linears, full recompute, logits chunk in dact', model: { layers: 2, hiddenSize: 32, intermediateSize: 512 }, s: { batchSize: 2, seqLen: 64, rank: 4, targets: ALL }, engine: { weightStorage: 'f32', recompute: true }, logitsInDact: true },
  { name: 'qwen2 biases, tied, 2 layers, C=64, B=1 T=50, r=8 all linears, q4 weights', model: { architecture: 'qwen2', layers: 2, hiddenSize: 64, numHeads: 4, numKvHeads: 2, intermediateSize: 96, tied: true }, s: { batchSize: 1, seqLen: 50, rank: 8, targets: ALL }, engine: { weightStorage: 'q4', recompute: 'auto' } },
];

function chat(i: number): Example {
  return { kind: 'chat', row: i, messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i % 3}` }] };
}

function pair(i: number): Example {
  return { kind: 'preference', row: i, conversational: false, messages: [{ role: 'user', content: `q${i}` }], chosen: [{ role: 'assistant', content: ` a${i % 3}` }], rejected: [{ role: 'assistant', content: ` b${i % 2}` }] };
}

describe('planTrainingMemory vs the engine-reported peak of a real step', () => {
  for (const c of SHAPES) {
    it(c.name, async () => {
      const ctx = await getTestContext(c.fast ? {} : { fallback: true });
      if (c.fast) expect(ctx.caps.f16, 'fast-path device must have shader-f16').toBe(true);
      const m = buildTinyModel({ seed: 5, ...c.model });
      const tok = loadTokenizer({ tokenizerJson: m.tokenizerJson, tokenizerConfig: m.tokenizerConfig });
      const preference = c.s.objective !== undefined && c.s.objective !== 'sft';
      const t = await tokenizeExamples(tok, Array.from({ length: 12 }, (_, i) => (preference ? pair(i) : chat(i))), { lossMode: 'all' });
      const examples = preference ? t.pairs : t.examples;
      const settings: TrainSettings = { ...DEFAULT_SETTINGS, maxSteps: 1, gradAccum: 1, valSplit: 0, ...c.s };
      const store = await SafetensorsFile.open(memorySource(m.files['model.safetensors'] as Uint8Array));

      const base = ctx.allocatedBytes;
      ctx.peakBytes = base;
      const session = await TrainingSession.open(ctx, m.config, store, examples, settings, { engine: c.engine });
      let chosen;
      try {
        await session.step();
        chosen = session.trainer.graph.plan.recompute;
      } finally {
        session.destroy();
      }
      const peak = ctx.peakBytes - base;

      const plan = planTrainingMemory(m.config, settings, { storage: c.engine.weightStorage as WeightStorage, recompute: c.engine.recompute }, ctx.caps.maxStorageBufferBindingSize);
      expect(plan.recompute).toBe(chosen);
      if (c.logitsInDact) expect(plan.activationParts.logits).toBe(0);
      expect(plan.totalBytes).toBe(plan.weightBytes + plan.loraTrainingBytes + plan.activationBytes + plan.otherBytes);
      // The plan sizes every buffer the run creates; only kernel constants cached once per
      // device (16-byte dummies) are left out, so it is exact to a few dozen bytes.
      expect(peak - plan.totalBytes).toBeGreaterThanOrEqual(0);
      expect(peak - plan.totalBytes).toBeLessThanOrEqual(64);
    });
  }
});
