// Generation part of `npm run bench`: greedy decoding throughput of Generator.generateBatch at
// batch 1 (single stream), 8 and 32 on the same SmolLM2-135M-shaped model (random weights,
// LoRA r=16 on all linears, f32 base), in one run. Every row gets a 16-token prompt and
// decodes N tokens with no stop token, so each batch generates B·N tokens; the time includes
// the per-row prefill (16 tokens each) and the 8-byte readback per row and step. On a software
// adapter (or --quick) the model keeps 4 of its 30 layers and N is small; BENCH_GEN_N sets N.
import type { GpuContext } from '../src/engine/gpu/context';
import { LINEAR_MODULES, parseModelConfig } from '../src/engine/model/config';
import { Generator } from '../src/engine/model/generate';
import { LlamaModel } from '../src/engine/model/llama';
import { LoraParams } from '../src/engine/model/lora-params';
import { destroyWeights, uploadWeightsFromMap } from '../src/engine/model/weights';
import type { BenchArgs } from './run';
import { SMOLLM2_135M, randomWeights } from './training';

export async function runGenerationBench(ctx: GpuContext, args: BenchArgs): Promise<void> {
  const software = /llvmpipe|swiftshader|lavapipe/i.test(ctx.device.adapterInfo?.description ?? '') || args.quick;
  const cfg = parseModelConfig(software ? { ...SMOLLM2_135M, num_hidden_layers: 4 } : SMOLLM2_135M);
  const N = Number(process.env.BENCH_GEN_N ?? (software ? 8 : 64));
  const P = 16;
  const batches = [1, 8, 32];
  console.log(`\ngeneration: SmolLM2-135M shape, ${cfg.numLayers} layers (random weights), LoRA r=16 on all linears, f32 base; greedy, ${P}-token prompts, ${N} new tokens per row`);
  const weights = await uploadWeightsFromMap(ctx, cfg, randomWeights(cfg), { storage: 'f32' });
  const model = new LlamaModel(ctx, cfg, weights);
  const lora = LoraParams.create(ctx, cfg, { r: 16, alpha: 32, dropout: 0, targetModules: [...LINEAR_MODULES], useRslora: false }, 1);
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
  } finally {
    gen.destroy();
    lora.destroy();
    destroyWeights(ctx, weights);
  }
}
