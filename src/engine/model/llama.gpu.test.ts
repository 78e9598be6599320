import { describe, expect, it } from 'vitest';
import { type GraphOptions, type LoraRun, TrainingGraph, loraDropout, planTrainingActivations } from './llama';
import type { RecomputeLevel } from './arena';
import { dropoutFactor } from '../reference/lora';
import type { WeightStorage } from './weights';
import { reduceSum } from '../gpu/kernels/norm';
import { liveValue } from '../gpu/context';
import { type RefBatch, referenceBackward, referenceForward } from '../reference/model';
import { randomBatch, randomLora, randomWeights, storedWeights, tinyConfig, tinyGemmaShape } from './tiny-random.testutil';
import { flatToRefKeys, gpuLora, gpuModel, maxAbs } from './gpu-model.testutil';
import { expectNoGpuError, getTestContext } from '../../../test/gpu-device';
import { expectClose } from '../../../test/numeric';
import type { ModelShape } from '../reference/model';

// Tolerances: the GPU runs every op in f32 (rounding ~6e-8 relative) on a 2–3 layer model
// with C = 16; errors stay around 1e-6 of the values' scale. We allow ~100× that margin:
//  - logits (|x| ~ 1..5): atol 1e-4, rtol 1e-4;
//  - loss: rtol 1e-5;
//  - LoRA gradients: atol 1e-4·max|g| (small entries are sums of cancelling terms) + rtol 1e-3.
const LOGITS_TOL = { atol: 1e-4, rtol: 1e-4 };

const LLAMA32_ROPE = { ropeType: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 } as const;

interface Case {
  name: string;
  cfg: Partial<ModelShape>;
  B: number;
  T: number;
  packed: boolean;
  recompute?: GraphOptions['recompute'];
  /** The level the graph must have chosen (default: none). */
  level?: RecomputeLevel;
  chunkRows?: number;
  R: number;
  dropout?: number;
  storage?: WeightStorage;
  /** Activation budget for 'auto'; 'selective-fits' = exactly the selective plan's bytes. */
  budget?: number | 'selective-fits';
}

const cases: Case[] = [
  { name: 'tied, GQA 4/2, all 7 targets', cfg: {}, B: 2, T: 6, packed: false, R: 3 },
  { name: 'untied, qwen2 biases, packed segments, 3 layers', cfg: { tieWordEmbeddings: false, attentionBias: true, numLayers: 3 }, B: 2, T: 7, packed: true, R: 4 },
  { name: 'several LM-head chunks (BT=90, 64-row chunks), recompute, MQA', cfg: { numKvHeads: 1, tieWordEmbeddings: false }, B: 3, T: 30, packed: true, recompute: true, level: 'full', chunkRows: 64, R: 2 },
  { name: 'T=1', cfg: { numHeads: 2, numKvHeads: 2, headDim: 8 }, B: 3, T: 1, packed: false, R: 1 },
  { name: 'LoRA dropout p=0.25 (masks replayed in the reference), recompute', cfg: { tieWordEmbeddings: false }, B: 2, T: 9, packed: true, recompute: true, level: 'full', R: 4, dropout: 0.25 },
  { name: "recompute 'auto' over a tiny activation budget", cfg: { numLayers: 3 }, B: 2, T: 5, packed: true, recompute: 'auto', level: 'full', budget: 1, R: 2 },
  { name: 'selective recompute, qwen2 biases, LoRA dropout p=0.25, 3 layers', cfg: { attentionBias: true, numLayers: 3, tieWordEmbeddings: false }, B: 2, T: 9, packed: true, recompute: 'selective', level: 'selective', R: 4, dropout: 0.25 },
  { name: 'selective recompute, several LM-head chunks (BT=90), MQA', cfg: { numKvHeads: 1 }, B: 3, T: 30, packed: true, recompute: 'selective', level: 'selective', chunkRows: 64, R: 2 },
  { name: 'selective recompute, T=1', cfg: { numHeads: 2, numKvHeads: 2, headDim: 8, numLayers: 3 }, B: 3, T: 1, packed: false, recompute: 'selective', level: 'selective', R: 1 },
  { name: "recompute 'auto' picks selective when only it fits the budget", cfg: { numLayers: 3 }, B: 2, T: 5, packed: true, recompute: 'auto', level: 'selective', budget: 'selective-fits', R: 2 },
  // Llama 3.2: llama3 RoPE scaling (D = 8, θ = 10⁴, original context 64: one frequency kept,
  // one on the smooth ramp, two divided by the factor) with tied embeddings.
  { name: 'Llama 3.2: llama3 rope scaling, tied, GQA 4/2', cfg: { headDim: 8, ropeScaling: LLAMA32_ROPE }, B: 2, T: 9, packed: true, R: 3 },
  { name: 'Llama 3.2: llama3 rope scaling, tied, selective recompute', cfg: { headDim: 8, numLayers: 3, ropeScaling: LLAMA32_ROPE }, B: 2, T: 7, packed: true, recompute: 'selective', level: 'selective', R: 2 },
  // qwen3: per-head q/k RMSNorm before RoPE; head_dim ≠ hidden/heads.
  { name: 'qwen3: q/k norms, head_dim 6 ≠ C/H, GQA 4/2, tied', cfg: { qkNorm: true, headDim: 6 }, B: 2, T: 7, packed: true, R: 3 },
  { name: 'qwen3: head_dim 128, MQA, untied, selective recompute', cfg: { qkNorm: true, numHeads: 2, numKvHeads: 1, headDim: 128, tieWordEmbeddings: false }, B: 2, T: 6, packed: true, recompute: 'selective', level: 'selective', R: 2 },
  { name: 'qwen3: selective recompute (q, k rebuilt by norm + RoPE), 3 layers, dropout', cfg: { qkNorm: true, headDim: 6, numLayers: 3, tieWordEmbeddings: false }, B: 2, T: 8, packed: true, recompute: 'selective', level: 'selective', R: 3, dropout: 0.25 },
  { name: 'qwen3: full recompute, LoRA dropout p=0.25, 3 layers, GQA 4/2', cfg: { qkNorm: true, headDim: 8, numLayers: 3 }, B: 2, T: 9, packed: true, recompute: true, level: 'full', R: 4, dropout: 0.25 },
  // gemma3_text: (1 + w) norms, output norms before the residual adds, GELU-tanh, √C embedding,
  // query_pre_attn_scalar, local layers (window 2 < T, own RoPE base) and global ones (linear ×2).
  { name: 'gemma3: local + global layers, GQA 4/2, tied', cfg: tinyGemmaShape(), B: 2, T: 7, packed: true, R: 3 },
  { name: 'gemma3: selective recompute, 3 layers, MQA, untied, LoRA dropout p=0.25', cfg: tinyGemmaShape({ numLayers: 3, numKvHeads: 1, tieWordEmbeddings: false }), B: 2, T: 9, packed: true, recompute: 'selective', level: 'selective', R: 3, dropout: 0.25 },
  // Gemma 3's real head_dim and query_pre_attn_scalar (256), MQA as in Gemma-3-270M/1B.
  { name: 'gemma3: head_dim 256, query_pre_attn_scalar 256, MQA, window 3', cfg: tinyGemmaShape({ numHeads: 2, numKvHeads: 1, headDim: 256 }, { queryPreAttnScalar: 256, slidingWindow: 3 }), B: 2, T: 6, packed: false, R: 2 },
  { name: 'gemma3: full recompute, 3 layers (global, local, local), several LM-head chunks', cfg: tinyGemmaShape({ numLayers: 3 }, { slidingLayers: [false, true, true], slidingWindow: 3 }), B: 3, T: 30, packed: true, recompute: true, level: 'full', chunkRows: 64, R: 2 },
  // Wide MLPs: the logits chunk lives in dact (64·40 ≤ BT·F) and the attention gradients in
  // dact and the layer's act, gate, up (F ≥ H·D), at every recompute level.
  { name: 'logits chunk in dact, attention gradients in the MLP buffers, full recompute', cfg: { intermediateSize: 64 }, B: 2, T: 32, packed: true, recompute: true, level: 'full', R: 2 },
  { name: 'logits chunk in dact, attention gradients in the MLP buffers, no recompute, 3 layers', cfg: { intermediateSize: 64, numLayers: 3 }, B: 2, T: 32, packed: true, R: 2, dropout: 0.25 },
  { name: 'gemma3: attention gradients in the MLP buffers (F ≥ H·D), selective recompute, 3 layers', cfg: tinyGemmaShape({ numLayers: 3, intermediateSize: 64 }), B: 2, T: 32, packed: true, recompute: 'selective', level: 'selective', R: 2 },
];

async function runGpu(fallback: boolean, c: Case) {
  const ctx = await getTestContext({ fallback });
  const cfg = tinyConfig(c.cfg);
  const weights = randomWeights(cfg, 101);
  const lora = randomLora(cfg, c.R, 102);
  const batch = randomBatch(cfg, c.B, c.T, 103, { packed: c.packed });
  const run: LoraRun = { scale: 1, dropout: c.dropout ?? 0, seed: 4321 };
  const refLora = c.dropout ? { ...lora, dropoutFactor: (l: number, t: Parameters<typeof loraDropout>[2], i: number) => dropoutFactor({ p: run.dropout, seed: liveValue(loraDropout(run, l, t).seed) }, i) } : lora;
  const ref = referenceBackward(cfg, storedWeights(cfg, weights, c.storage ?? 'f32'), refLora, batch);
  const got = await expectNoGpuError(ctx, async () => {
    const model = await gpuModel(ctx, cfg, weights, c.storage ?? 'f32');
    const lp = gpuLora(ctx, cfg, lora, c.R);
    const opts: GraphOptions = { recompute: c.recompute, logitsChunkRows: c.chunkRows };
    const maxBinding = ctx.caps.maxStorageBufferBindingSize;
    opts.activationBudgetBytes = c.budget === 'selective-fits' ? planTrainingActivations(cfg, lp.layout, c.B, c.T, maxBinding, { ...opts, recompute: 'selective' }).totalBytes : c.budget;
    const g = new TrainingGraph(model, lp, c.B, c.T, opts);
    if (g.plan.recompute !== (c.level ?? 'none')) throw new Error(`expected recompute level ${c.level ?? 'none'}, the graph chose ${g.plan.recompute}`);
    const BT = c.B * c.T;
    const logits = ctx.createBuffer(BT * cfg.vocabSize * 4);
    const loss = ctx.createBuffer(16);
    g.writeBatch(batch);
    const rec = ctx.recorder();
    rec.clear(lp.grads);
    g.recordForward(rec, run);
    g.recordLogits(rec, logits);
    g.recordLoss(rec, 1 / ref.numTargets, true);
    reduceSum(ctx, rec, loss, g.buf.losses, BT, { scale: 1 / ref.numTargets });
    g.recordBackward(rec, run);
    rec.submit();
    return { logits: await ctx.readF32(logits, BT * cfg.vocabSize), loss: (await ctx.readF32(loss, 1))[0], grads: flatToRefKeys(lp, await lp.readFlat('grads')) };
  });
  return { ref, got, cfg, batch };
}

describe('GPU Llama + LoRA vs float64 reference', () => {
  for (const fallback of [false, true]) {
    // f16 weights exist only on the fast path (shader-f16); q8/q4 run everywhere.
    // q8/q4 weights (quantized on load) need rows of whole 32-value blocks: C = 32, F = 64.
    const quantized = (storage: 'q8' | 'q4'): Case => ({ ...cases[1], cfg: { ...cases[1].cfg, hiddenSize: 32, intermediateSize: 64, headDim: 8 }, name: `${cases[1].name}, C=32, ${storage} weights`, storage });
    const extra = [quantized('q8'), quantized('q4'), ...(fallback ? [] : [{ ...cases[1], name: `${cases[1].name}, f16 weights`, storage: 'f16' as const }])];
    for (const c of [...cases, ...extra]) {
      it(`${c.name} (fallback=${fallback})`, async () => {
        const { ref, got } = await runGpu(fallback, c);
        expectClose(got.logits, ref.logits, LOGITS_TOL.atol, LOGITS_TOL.rtol, 'logits');
        expect(Math.abs(got.loss - ref.loss)).toBeLessThanOrEqual(1e-5 * ref.loss);
        let checked = 0;
        for (const [k, want] of ref.grads) {
          const g = got.grads.get(k);
          expect(g, `gradient ${k}`).toBeDefined();
          // T=1: q/k get no gradient at all (softmax over one key) — both sides must be ~0.
          expectClose(g!, want, 1e-4 * Math.max(maxAbs(want), 1e-3), 1e-3, `d${k}`);
          checked++;
        }
        expect(checked).toBe(ref.grads.size);
      });
    }
  }

  it('B = 0 leaves the logits exactly unchanged', async () => {
    const ctx = await getTestContext();
    const cfg = tinyConfig({ attentionBias: true });
    const weights = randomWeights(cfg, 201);
    const batch: RefBatch = randomBatch(cfg, 2, 5, 202, { packed: true });
    const out = await expectNoGpuError(ctx, async () => {
      const model = await gpuModel(ctx, cfg, weights);
      const run = async (withLora: boolean) => {
        const lp = withLora ? gpuLora(ctx, cfg, randomLora(cfg, 4, 203, { zeroB: true }), 4) : null;
        const g = new TrainingGraph(model, lp, 2, 5);
        const logits = ctx.createBuffer(10 * cfg.vocabSize * 4);
        g.writeBatch(batch);
        const rec = ctx.recorder();
        g.recordForward(rec);
        g.recordLogits(rec, logits);
        rec.submit();
        return ctx.readF32(logits, 10 * cfg.vocabSize);
      };
      return { base: await run(false), zeroB: await run(true) };
    });
    expect(Array.from(out.zeroB)).toEqual(Array.from(out.base));
    // And both match the reference base model.
    expectClose(out.base, referenceForward(cfg, weights, null, batch).logits, LOGITS_TOL.atol, LOGITS_TOL.rtol, 'base logits');
  });
});
