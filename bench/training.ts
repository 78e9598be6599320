// Training part of `npm run bench`: a SmolLM2-135M-shaped model with random weights made here.
// 1. Peak GPU memory reported by the engine (GpuContext's allocation high-water mark) for LoRA
//    r=16 on all seven linears at batch 4 × seq 512, f32 base weights and (where the adapter
//    has shader-f16) f16 — targets 1.5 GB and 1 GB — with the default activation recomputation
//    ('auto') and, for comparison, keeping every activation.
// 2. Training tokens/s of whole optimizer steps, and utilisation: FLOPs per token
//    (4N + 12·L·C·T; frozen base, so no weight gradients) × tokens/s, divided by the matmul
//    kernel's own GFLOP/s on this model's projections, measured in the same run on the same
//    adapter. Target: at least 50%.
// 1b. Issue 13's memory targets (Qwen3-0.6B q8, Qwen3-1.7B q4, Llama-3.2-1B q4, Gemma-3-1B q4 at
//    the same LoRA and batch shape): the exact plan (planTrainingMemory; memory-plan.gpu.test.ts
//    holds it to the engine's peak) with where the activations go; nothing is allocated.
// On a software adapter (lavapipe) full-size steps take minutes, so the throughput part runs at
// BENCH_TRAIN_B × BENCH_TRAIN_T (default 1 × 128 there, 4 × 512 on a real GPU) and --quick
// also cuts the layers to 4; the memory part always uses the real shape (it allocates, and
// runs no step).
// 4. Per-kernel profile of one step (profileBench, alone with `--profile`): GPU timestamps per
//    dispatch summed per kernel, with GFLOP/s and GB/s from the launchers' cost model, at the
//    4-layer quick shape and the full 30 layers (not with --quick), B×T as in part 2; with
//    `--no-timestamps` (or an adapter without timestamp-query) whole-step times only. Then the
//    GPU's idle gap between consecutive steps pipelined as a run pipelines them (measureStepGaps).
// 3. Host cost of a step (hostCostBench, also alone with `--host`): dispatches per step and per
//    layer, and the JS time to record one optimizer step (launchers, bind groups, encoding,
//    finish; encoded but never submitted, so the GPU's speed does not enter) three ways side by
//    side: uncached (the old path), cached bind groups without replay, and replayed (the
//    default: the step's tape re-encoded with its step values re-packed).
import type { GpuContext } from '../src/engine/gpu/context';
import { matmulBackward, matmulForward } from '../src/engine/gpu/kernels/matmul';
import { type WeightDType, weightRowBytes } from '../src/engine/gpu/kernels/weights';
import { LINEAR_MODULES, expectedTensors, linearShape, parameterCount, parseModelConfig, type ModelConfig } from '../src/engine/model/config';
import { LlamaModel, countTargets, type GraphOptions, type TokenBatch } from '../src/engine/model/llama';
import { LoraParams } from '../src/engine/model/lora-params';
import { destroyWeights, uploadWeightsFromMap, type WeightStorage } from '../src/engine/model/weights';
import { defaultOptimConfig } from '../src/engine/optim/config';
import { LoraTrainer } from '../src/train/trainer';
import { planTrainingMemory } from '../src/train/memory-plan';
import { DEFAULT_ENGINE_OPTIONS } from '../src/train/session';
import { DEFAULT_SETTINGS, LORA_TARGETS } from '../src/train/settings';
import { MODEL_PRESETS } from '../src/worker/presets';
import { formatProfile, formatStepGaps, measureStepGaps, profileTrainerStep, syntheticBatch } from '../src/train/profile';
import type { BenchArgs } from './run';

export const SMOLLM2_135M = {
  model_type: 'llama',
  architectures: ['LlamaForCausalLM'],
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  head_dim: 64,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
  vocab_size: 49152,
  max_position_embeddings: 8192,
  torch_dtype: 'bfloat16',
};

const GB = 1e9;

/** Random weights made on demand, one tensor at a time (the model is never whole in memory). */
export function randomWeights(cfg: ModelConfig): ReadonlyMap<string, ArrayLike<number>> {
  const shapes = new Map(expectedTensors(cfg).map((t) => [t.name, t.shape]));
  let s = 12345;
  const get = (name: string) => {
    const shape = shapes.get(name);
    if (!shape) return undefined;
    const n = shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    if (shape.length === 1) return a.fill(1); // norms
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      a[i] = (s / 2 ** 32 - 0.5) * 0.04;
    }
    return a;
  };
  return { get } as unknown as ReadonlyMap<string, ArrayLike<number>>;
}

interface Built {
  trainer: LoraTrainer;
  destroy(): void;
}

async function build(ctx: GpuContext, cfg: ModelConfig, storage: WeightStorage, B: number, T: number, recompute: GraphOptions['recompute']): Promise<Built> {
  const weights = await uploadWeightsFromMap(ctx, cfg, randomWeights(cfg), { storage });
  const model = new LlamaModel(ctx, cfg, weights);
  const lora = LoraParams.create(ctx, cfg, { r: 16, alpha: 32, dropout: 0.05, targetModules: [...LINEAR_MODULES], useRslora: false }, 1);
  const trainer = new LoraTrainer(ctx, model, lora, defaultOptimConfig(), { B, T, seed: 1, recompute });
  return {
    trainer,
    destroy() {
      trainer.destroy();
      lora.destroy();
      model.destroy();
      destroyWeights(ctx, weights);
    },
  };
}

/** Engine-reported peak bytes of building a trainer (weights, LoRA state, activation arena). */
async function peakMemory(ctx: GpuContext, cfg: ModelConfig, storage: WeightStorage, recompute: GraphOptions['recompute']): Promise<number> {
  const base = ctx.allocatedBytes;
  ctx.peakBytes = base;
  const b = await build(ctx, cfg, storage, 4, 512, recompute);
  const peak = ctx.peakBytes - base;
  b.destroy();
  return peak;
}

/**
 * GFLOP/s of our matmul forward + backward (forward only with backward = false: the forward
 * pass's rate) over the step's own mix: the seven projections at BT rows and the LM head at
 * the row-chunk size training uses (so the head's larger, faster matrices count as they do in a step).
 */
export async function matmulRate(ctx: GpuContext, cfg: ModelConfig, BT: number, dtype: WeightDType, reps: number, backward = true): Promise<number> {
  const bufs: GPUBuffer[] = [];
  const alloc = (bytes: number) => {
    const b = ctx.createBuffer(bytes);
    bufs.push(b);
    return b;
  };
  const C = cfg.hiddenSize;
  const F = cfg.intermediateSize;
  const V = cfg.vocabSize;
  const headRows = Math.min(BT, 128); // the trainer's LM-head chunk for a 32 MiB logits budget
  const widest = Math.max(C, F, cfg.numHeads * cfg.headDim);
  const x = alloc(BT * widest * 4);
  const y = alloc(Math.max(BT * widest, headRows * V) * 4);
  const dx = alloc(BT * widest * 4);
  const layers = LINEAR_MODULES.map((m) => ({ ...linearShape(cfg, m), rows: BT }));
  const shapes = [...layers, { inFeatures: C, outFeatures: V, rows: headRows }].map((l) => ({ ...l, w: { buffer: alloc(l.outFeatures * weightRowBytes(dtype, l.inFeatures, 'bench')), dtype } as const }));
  const flops = shapes.reduce((s, w) => s + (backward ? 2 : 1) * 2 * w.rows * w.inFeatures * w.outFeatures, 0);
  const once = async () => {
    const rec = ctx.recorder('bench matmul');
    for (const w of shapes) {
      matmulForward(ctx, rec, y, x, w.w, null, w.rows, w.inFeatures, w.outFeatures);
      if (backward) matmulBackward(ctx, rec, dx, y, w.w, w.rows, w.inFeatures, w.outFeatures, { accumulate: false });
    }
    rec.submit();
    await ctx.sync();
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  for (const b of bufs) ctx.destroy(b);
  times.sort((a, b) => a - b);
  return flops / (times[Math.floor(times.length / 2)] / 1000) / 1e9;
}

interface HostCost {
  dispatches: number;
  /** Median ms of JS to record one step, per path: the old one, cached bind groups, and replayed tapes (the default). */
  uncachedMs: number;
  cachedMs: number;
  replayMs: number;
}

/** Median JS ms of recording (not running) one step of `trainer`, after two warm-up recordings. */
function recordMs(ctx: GpuContext, trainer: LoraTrainer, batch: TokenBatch, reps: number): number {
  const n = countTargets(batch);
  // Pipelines compile, the cached path fills its cache; the replayed path captures its tape, then replays once.
  for (let i = 0; i < 2; i++) trainer.recordStep([batch], n, false);
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    trainer.recordStep([batch], n, false);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Dispatches of one step of `cfg`, and (reps > 0) the host ms of recording it per path. */
async function hostCost(ctx: GpuContext, cfg: ModelConfig, B: number, T: number, reps: number): Promise<HostCost> {
  const built = await build(ctx, cfg, 'f32', B, T, 'auto');
  await ctx.sync(); // the weight uploads run on the device's threads: not during the measurement
  const batch = syntheticBatch(B, T, cfg.vocabSize);
  const before = ctx.dispatches;
  built.trainer.recordStep([batch], countTargets(batch), false);
  const dispatches = ctx.dispatches - before;
  const was = { cache: ctx.cacheBindings, replay: ctx.replayTapes };
  if (reps === 0) {
    built.destroy();
    return { dispatches, cachedMs: NaN, uncachedMs: NaN, replayMs: NaN };
  }
  try {
    // Fewest objects made first: the old path's thousands of bind groups and uniform buffers
    // per step leave garbage whose collection would land in whatever is measured after it.
    ctx.cacheBindings = true;
    ctx.replayTapes = true;
    const replayMs = recordMs(ctx, built.trainer, batch, reps);
    ctx.replayTapes = false;
    const cachedMs = recordMs(ctx, built.trainer, batch, reps);
    ctx.cacheBindings = false;
    // At most 7 timed: Dawn (webgpu 0.6.2 on lavapipe) segfaults after ~20 unsubmitted recordings of the
    // 30-layer step on the old path (its bind groups and destroyed uniform buffers pile up); the same before replay existed.
    const uncachedMs = recordMs(ctx, built.trainer, batch, Math.min(reps, 7));
    return { dispatches, cachedMs, uncachedMs, replayMs };
  } finally {
    ctx.cacheBindings = was.cache;
    ctx.replayTapes = was.replay;
    built.destroy();
  }
}

/** Host cost per step at SmolLM2-135M's shape (B=4, T=512, 30 layers) and a 4-layer one. */
export async function hostCostBench(ctx: GpuContext, args: BenchArgs): Promise<void> {
  const B = 4;
  const T = 512;
  const reps = Math.max(3, args.reps);
  console.log(`\nhost cost per step: SmolLM2-135M shape, f32, B=${B} T=${T}, recompute 'auto'; JS ms to record + encode one step (not run), median of ${reps} (old path: of ${Math.min(reps, 7)})`);
  for (const layers of [4, 30]) {
    const shape = (n: number) => parseModelConfig({ ...SMOLLM2_135M, num_hidden_layers: n });
    const r = await hostCost(ctx, shape(layers), B, T, reps);
    // One more layer, same activation plan: its extra dispatches are one layer's.
    const perLayer = (await hostCost(ctx, shape(layers + 1), B, T, 0)).dispatches - r.dispatches;
    console.log(
      `  ${String(layers).padStart(2)} layers: ${r.dispatches} dispatches (${perLayer} per layer); ` +
        `uncached (old) ${r.uncachedMs.toFixed(1)} ms, cached bind groups ${r.cachedMs.toFixed(1)} ms (${(r.uncachedMs / r.cachedMs).toFixed(1)}×), ` +
        `replayed step ${r.replayMs.toFixed(1)} ms → ${(r.uncachedMs / r.replayMs).toFixed(1)}× (target ≥ 10× and ≤ 20 ms: ${r.uncachedMs / r.replayMs >= 10 && r.replayMs <= 20 ? 'met' : 'NOT met'})`,
    );
  }
}

/** Issue 13's presets: planned peak GPU memory against each target, and the activations by kind. */
export function presetMemoryBench(ctx: GpuContext): void {
  const s = { ...DEFAULT_SETTINGS, rank: 16, targets: [...LORA_TARGETS], batchSize: 4, seqLen: 512 };
  console.log('\npeak GPU memory of the issue-13 presets (exact plan), LoRA r=16 on all linears, B=4 T=512, default settings:');
  const gb = (b: number) => (b / GB).toFixed(3);
  for (const p of MODEL_PRESETS) {
    if (!p.memoryTarget) continue;
    const { storage, gb: limit } = p.memoryTarget;
    const r = planTrainingMemory(parseModelConfig(p.config), s, { storage, recompute: DEFAULT_ENGINE_OPTIONS.recompute }, ctx.caps.maxStorageBufferBindingSize);
    const parts = Object.entries(r.activationParts).filter(([, b]) => b > 0).map(([k, b]) => `${k} ${gb(b)}`).join(', ');
    console.log(
      `  ${p.label} ${storage}: ${gb(r.totalBytes)} GB (target ≤ ${limit} GB: ${r.totalBytes <= limit * GB ? 'met' : 'NOT met'}) = ` +
        `weights ${gb(r.weightBytes)} + LoRA and AdamW ${gb(r.loraTrainingBytes)} + activations ${gb(r.activationBytes)} (recompute ${r.recompute}: ${parts}) + other ${gb(r.otherBytes)}`,
    );
  }
}

export async function runTrainingBench(ctx: GpuContext, args: BenchArgs): Promise<void> {
  await hostCostBench(ctx, args);
  if (args.hostOnly) return;
  const full = parseModelConfig(SMOLLM2_135M);
  console.log('\ntraining: SmolLM2-135M shape (random weights), LoRA r=16 on q,k,v,o,gate,up,down');

  // 1. Memory at batch 4 × seq 512.
  const storages: ('f32' | 'f16')[] = ctx.caps.f16 ? ['f32', 'f16'] : ['f32'];
  for (const storage of storages) {
    const limit = storage === 'f32' ? 1.5 : 1.0;
    const peak = await peakMemory(ctx, full, storage, 'auto');
    const keepAll = await peakMemory(ctx, full, storage, false);
    const selective = await peakMemory(ctx, full, storage, 'selective');
    console.log(
      `  peak GPU memory, ${storage} base, B=4 T=512, default settings (recompute 'auto'): ${(peak / GB).toFixed(3)} GB ` +
        `(target ≤ ${limit} GB: ${peak <= limit * GB ? 'met' : 'NOT met'}); keeping every activation: ${(keepAll / GB).toFixed(3)} GB; selective recompute: ${(selective / GB).toFixed(3)} GB`,
    );
  }

  presetMemoryBench(ctx);

  // 2. Throughput of whole steps vs the matmul kernel's rate at the same shapes.
  const software = /llvmpipe|swiftshader|lavapipe/i.test(ctx.device.adapterInfo?.description ?? '') || args.quick;
  const B = Number(process.env.BENCH_TRAIN_B ?? (software ? 1 : 4));
  const T = Number(process.env.BENCH_TRAIN_T ?? (software ? 128 : 512));
  const cfg = args.quick ? parseModelConfig({ ...SMOLLM2_135M, num_hidden_layers: 4 }) : full;
  const steps = args.quick ? 2 : 3;
  for (const storage of storages) {
    const built = await build(ctx, cfg, storage, B, T, false);
    const batch = syntheticBatch(B, T, cfg.vocabSize);
    await built.trainer.step(batch); // warm-up: pipeline compiles
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await built.trainer.step(batch);
    const secs = (performance.now() - t0) / 1000 / steps;
    built.destroy();
    const tokensPerSec = (B * T) / secs;
    const N = parameterCount(cfg) - (cfg.tieWordEmbeddings ? 0 : cfg.vocabSize * cfg.hiddenSize);
    const flopsPerToken = 4 * N + 12 * cfg.numLayers * cfg.hiddenSize * T;
    const achieved = (flopsPerToken * tokensPerSec) / 1e9;
    const mm = await matmulRate(ctx, cfg, B * T, storage, args.reps);
    console.log(
      `  ${storage} base, ${cfg.numLayers} layers, B=${B} T=${T}: ${tokensPerSec.toFixed(1)} tokens/s, ${(secs * 1000).toFixed(0)} ms/step, ` +
        `${achieved.toFixed(2)} GFLOP/s (4N+12LCT) vs matmul ${mm.toFixed(2)} GFLOP/s → utilisation ${((100 * achieved) / mm).toFixed(0)}% (target ≥ 50%)`,
    );
  }
}

/** Per-kernel profile of one optimizer step at SmolLM2-135M's shape, 4 layers and (unless --quick) all 30. */
export async function profileBench(ctx: GpuContext, args: BenchArgs): Promise<void> {
  const software = /llvmpipe|swiftshader|lavapipe/i.test(ctx.device.adapterInfo?.description ?? '') || args.quick;
  const B = Number(process.env.BENCH_TRAIN_B ?? (software ? 1 : 4));
  const T = Number(process.env.BENCH_TRAIN_T ?? (software ? 128 : 512));
  const layerCounts = args.quick ? [4] : [4, 30];
  const timestamps = ctx.caps.timestamps ? 'timestamp-query granted' : 'NO timestamp-query (whole-step times only)';
  console.log(`\nprofile of one optimizer step: SmolLM2-135M shape (random weights), f32 base, LoRA r=16 on all linears, recompute 'auto'; ${timestamps}`);
  for (const layers of layerCounts) {
    const cfg = parseModelConfig({ ...SMOLLM2_135M, num_hidden_layers: layers });
    const built = await build(ctx, cfg, 'f32', B, T, 'auto');
    try {
      const batch = syntheticBatch(B, T, cfg.vocabSize);
      const p = await profileTrainerStep(ctx, built.trainer, [batch], { steps: Math.max(1, Math.min(args.reps, 3)) });
      console.log(`\n${layers} layers, ${formatProfile(p)}`);
      const gaps = await measureStepGaps(ctx, built.trainer, [batch], { steps: 4 });
      if (gaps) console.log(formatStepGaps(gaps));
    } finally {
      built.destroy();
    }
  }
}
