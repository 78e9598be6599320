// Generation part of `npm run bench`: greedy decoding throughput of Generator.generateBatch at
// batch 1 (single stream), 8 and 32 on the same SmolLM2-135M-shaped model (random weights,
// LoRA r=16 on all linears, f32 base), in one run. Every row gets a 16-token prompt and
// decodes N tokens with no stop token, so each batch generates B·N tokens; the time includes
// the per-row prefill (16 tokens each) and the 8-byte readback per row and step. On a software
// adapter (or --quick) the model keeps 4 of its 30 layers and N is small; BENCH_GEN_N sets N.
// Then single-stream greedy decoding at context 512 (a 512 − N token prompt, N new tokens):
// tokens/s of the decode steps alone (first token to last, the prefill left out), the GFLOP/s
// that is (decodeFlopsPerToken), and its share of the forward pass's matmul rate measured in
// the same run (matmulForward over the model's projections at the training bench's rows).
import type { GpuContext } from '../src/engine/gpu/context';
import { LINEAR_MODULES, linearShape, parseModelConfig, type ModelConfig } from '../src/engine/model/config';
import { Generator } from '../src/engine/model/generate';
import { LlamaModel } from '../src/engine/model/llama';
import { LoraParams } from '../src/engine/model/lora-params';
import { destroyWeights, uploadWeightsFromMap } from '../src/engine/model/weights';
import type { BenchArgs } from './run';
import { SMOLLM2_135M, matmulRate, randomWeights } from './training';

/**
 * FLOPs of decoding one token at position `pos` (it attends to pos + 1 keys): every linear,
 * the LoRA branch of each (rank R), the LM head, and q·k plus p·v over the context.
 */
export function decodeFlopsPerToken(cfg: ModelConfig, pos: number, R: number): number {
  let perLayer = 0;
  for (const m of LINEAR_MODULES) {
    const { inFeatures, outFeatures } = linearShape(cfg, m);
    perLayer += 2 * inFeatures * outFeatures + 2 * R * (inFeatures + outFeatures);
  }
  perLayer += 4 * cfg.numHeads * cfg.headDim * (pos + 1);
  return cfg.numLayers * perLayer + 2 * cfg.hiddenSize * cfg.vocabSize;
}

const R = 16;

export async function runGenerationBench(ctx: GpuContext, args: BenchArgs): Promise<void> {
  const software = /llvmpipe|swiftshader|lavapipe/i.test(ctx.device.adapterInfo?.description ?? '') || args.quick;
  const cfg = parseModelConfig(software ? { ...SMOLLM2_135M, num_hidden_layers: 4 } : SMOLLM2_135M);
  const N = Number(process.env.BENCH_GEN_N ?? (software ? 8 : 64));
  const P = 16;
  const batches = [1, 8, 32];
  console.log(`\ngeneration: SmolLM2-135M shape, ${cfg.numLayers} layers (random weights), LoRA r=16 on all linears, f32 base; greedy, ${P}-token prompts, ${N} new tokens per row`);
  const weights = await uploadWeightsFromMap(ctx, cfg, randomWeights(cfg), { storage: 'f32' });
  const model = new LlamaModel(ctx, cfg, weights);
  const lora = LoraParams.create(ctx, cfg, { r: R, alpha: 32, dropout: 0, targetModules: [...LINEAR_MODULES], useRslora: false }, 1);
  const gen = new Generator(model, lora, P + N, Math.max(...batches));
  try {
    const prompts = Array.from({ length: Math.max(...batches) }, (_, r) => Array.from({ length: P }, (_, i) => (r * 131 + i * 7919) % cfg.vocabSize));
    const opts = { maxNewTokens: N, stopTokens: [] };
    await gen.generateBatch(prompts.slice(0, 2), { ...opts, maxNewTokens: 2 }); // warm-up: pipeline compiles
    let single = 0;
    for (const B of batches) {
      const t0 = performance.now();
      const res = await gen.generateBatch(prompts.slice(0, B), opts);
      const secs = (performance.now() - t0) / 1000;
      const tokens = res.reduce((n, r) => n + r.tokens.length, 0);
      const rate = tokens / secs;
      if (B === 1) single = rate;
      console.log(`  batch ${String(B).padStart(2)}: ${tokens} tokens in ${secs.toFixed(2)} s → ${rate.toFixed(1)} tokens/s${B > 1 ? ` (${(rate / single).toFixed(1)}× single stream)` : ' (single stream)'}`);
    }
    await singleStreamAt512(ctx, cfg, model, lora, N, args);
  } finally {
    gen.destroy();
    lora.destroy();
    model.destroy();
    destroyWeights(ctx, weights);
  }
}

/** Single-stream greedy decode tokens/s at context 512, and its share of the forward pass's matmul GFLOP/s. */
async function singleStreamAt512(ctx: GpuContext, cfg: ModelConfig, model: LlamaModel, lora: LoraParams, N: number, args: BenchArgs): Promise<void> {
  const context = 512;
  if (!(N >= 2 && N < context)) throw new Error(`decode bench: BENCH_GEN_N=${N} must be in [2, ${context})`);
  const P = context - N;
  const gen = new Generator(model, lora, context, 1);
  try {
    const prompt = Array.from({ length: P }, (_, i) => (i * 7919) % cfg.vocabSize);
    await gen.generate(prompt.slice(0, 8), { maxNewTokens: 2, stopTokens: [] }); // warm-up
    const at: number[] = [];
    const res = await gen.generate(prompt, { maxNewTokens: N, stopTokens: [], onToken: () => void at.push(performance.now()) });
    if (res.tokens.length !== N || at.length !== N) throw new Error(`decode bench: ${res.tokens.length} tokens of ${N}`);
    const secs = (at[N - 1] - at[0]) / 1000;
    const rate = (N - 1) / secs;
    let flops = 0;
    for (let pos = P + 1; pos < P + N; pos++) flops += decodeFlopsPerToken(cfg, pos, R); // the tokens after the first
    const gflops = flops / secs / 1e9;
    const software = /llvmpipe|swiftshader|lavapipe/i.test(ctx.device.adapterInfo?.description ?? '') || args.quick;
    const BT = Number(process.env.BENCH_TRAIN_B ?? (software ? 1 : 4)) * Number(process.env.BENCH_TRAIN_T ?? (software ? 128 : 512));
    const mm = await matmulRate(ctx, cfg, BT, 'f32', args.reps, false);
    console.log(
      `  single stream at context ${context} (${P}-token prompt, ${N} new, greedy): ${rate.toFixed(1)} tokens/s decoding (prefill excluded), ` +
        `${gflops.toFixed(2)} GFLOP/s vs the forward pass's matmul ${mm.toFixed(2)} GFLOP/s (BT=${BT}) → ${((100 * gflops) / mm).toFixed(1)}% of it`,
    );
  } finally {
    gen.destroy();
  }
}
