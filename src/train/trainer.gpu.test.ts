import { describe, expect, it } from 'vitest';
import { DeviceLostError, LoraTrainer, NonFiniteError } from './trainer';
import { exportPeft, importPeft } from '../adapters/peft';
import { SafetensorsFile, memorySource } from '../engine/model/safetensors';
import { GpuContext } from '../engine/gpu/context';
import { create } from 'webgpu';
import { ReferenceTrainer } from './reference-trainer.testutil';
import { defaultOptimConfig, type OptimConfig } from '../engine/optim/config';
import { LoraParams } from '../engine/model/lora-params';
import type { LlamaModel } from '../engine/model/llama';
import { LINEAR_MODULES, type LinearModule, type ModelConfig } from '../engine/model/config';
import { type RefLora, loraKeyB } from '../engine/reference/model';
import { randomBatch, randomLora, randomWeights, storedWeights, tinyConfig, tinyGemmaShape } from '../engine/model/tiny-random.testutil';
import { flatToRefKeys, gpuLora, gpuModel } from '../engine/model/gpu-model.testutil';
import { expectNoGpuError, getTestContext } from '../../test/gpu-device';
import { expectClose } from '../../test/numeric';

// Held for the whole file: a GPU instance that is garbage-collected takes its devices down.
const ownGpu = create(['backend=vulkan']);

function optim(over: Partial<OptimConfig> = {}): OptimConfig {
  return defaultOptimConfig({
    schedule: { kind: 'cosine', lr: 2e-2, warmupSteps: 2, totalSteps: 10 },
    weightDecay: 0.01,
    maxGradNorm: 0.5, // small enough that clipping is active in the first steps
    gradAccumSteps: 2,
    ...over,
  });
}

/** PEFT-style start (B = 0) from a reference LoRA with random A. */
function startLora(cfg: ModelConfig, R: number, seed: number): RefLora {
  return randomLora(cfg, R, seed, { zeroB: true, scaling: 2 });
}

describe('LoraTrainer vs the float64 reference trainer', () => {
  const models = [
    ['llama, untied', { tieWordEmbeddings: false, numLayers: 2 }],
    ['qwen3 q/k norms, head_dim 6, tied', { qkNorm: true, headDim: 6, numLayers: 2 }],
    ['gemma3 local + global layers, tied', tinyGemmaShape()],
  ] as const;
  for (const fallback of [false, true]) for (const [name, shape] of models) {
    it(`${name}: ten AdamW steps (accumulation 2, clipping, cosine+warmup, wd) follow the reference loss curve (fallback=${fallback})`, async () => {
      const ctx = await getTestContext({ fallback });
      const cfg = tinyConfig(shape);
      const weights = randomWeights(cfg, 301);
      const R = 4;
      const refLora = startLora(cfg, R, 302);
      const o = optim();
      const data = [0, 1, 2, 3].map((i) => randomBatch(cfg, 2, 6, 310 + i, { packed: true, ignoreFraction: 0.1 }));
      const stepBatches = (s: number) => [data[(2 * s) % 4], data[(2 * s + 1) % 4]];
      const gpuLoraParams = gpuLora(ctx, cfg, refLora, R); // copies the start values before the reference mutates them
      const ref = new ReferenceTrainer(cfg, weights, refLora, o);
      const want = Array.from({ length: 10 }, (_, s) => ref.step(stepBatches(s)));
      const got = await expectNoGpuError(ctx, async () => {
        const model = await gpuModel(ctx, cfg, weights);
        const tr = new LoraTrainer(ctx, model, gpuLoraParams, o, { B: 2, T: 6, seed: 1 });
        const res = [];
        for (let s = 0; s < 10; s++) res.push(await tr.step(stepBatches(s)));
        return { res, params: flatToRefKeys(gpuLoraParams, await gpuLoraParams.readFlat('params')) };
      });
      expect(want.some((w) => w.clip < 1)).toBe(true);
      expect(want[9].loss).toBeLessThan(want[0].loss - 0.1);
      // f32 vs f64: the curve agrees to ~1e-5 relative; Adam amplifies f32 noise only in
      // near-zero-gradient coordinates, which barely move the loss. 1e-3 relative is ample.
      expectClose(got.res.map((r) => r.loss), want.map((w) => w.loss), 0, 1e-3, 'loss curve');
      expectClose(got.res.map((r) => r.gradNorm), want.map((w) => w.gradNorm), 0, 1e-3, 'grad norms');
      expectClose(got.res.map((r) => r.clip), want.map((w) => w.clip), 0, 1e-3, 'clip factors');
      expectClose(got.res.map((r) => r.lr), want.map((w) => w.lr), 0, 0, 'learning rates');
      expect(got.res.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      // Parameters after ten steps: each moved by ≲ 10·lr; agree within 2% of lr.
      for (const [k, w] of refLora.weights) expectClose(got.params.get(k)!, w, 4e-4, 1e-3, `final ${k}`);
    });
  }

  // QLoRA: the frozen base quantized on load (C = 32, F = 64: rows of whole 32-value blocks).
  // Against the float64 trainer on the dequantized weights the curve must agree as tightly as
  // the f32 run does (1e-3; measured ~2e-7), since the quantized values are exact. Against the
  // f32 run on the unquantized weights it follows within what quantization itself changes:
  // measured 7e-4 (Q8_0) and 2.7e-2 (Q4_0) relative at worst; allowed 1% and 5%.
  for (const [storage, vsF32] of [['q8', 0.01], ['q4', 0.05]] as const) {
    it(`ten steps on a ${storage} base follow the reference on the dequantized weights, and the f32 run within ${vsF32 * 100}%`, async () => {
      const ctx = await getTestContext({ fallback: true });
      const cfg = tinyConfig({ tieWordEmbeddings: false, numLayers: 2, hiddenSize: 32, intermediateSize: 64, headDim: 8 });
      const weights = randomWeights(cfg, 501);
      const R = 4;
      const o = optim();
      const data = [0, 1, 2, 3].map((i) => randomBatch(cfg, 2, 6, 510 + i, { packed: true, ignoreFraction: 0.1 }));
      const stepBatches = (s: number) => [data[(2 * s) % 4], data[(2 * s + 1) % 4]];
      const run = (st: 'f32' | 'q8' | 'q4') =>
        expectNoGpuError(ctx, async () => {
          const tr = new LoraTrainer(ctx, await gpuModel(ctx, cfg, weights, st), gpuLora(ctx, cfg, startLora(cfg, R, 502), R), o, { B: 2, T: 6, seed: 1 });
          const losses = [];
          for (let s = 0; s < 10; s++) losses.push((await tr.step(stepBatches(s))).loss);
          return losses;
        });
      const ref = new ReferenceTrainer(cfg, storedWeights(cfg, weights, storage), startLora(cfg, R, 502), o);
      const want = Array.from({ length: 10 }, (_, s) => ref.step(stepBatches(s)).loss);
      const got = await run(storage);
      const f32 = await run('f32');
      expect(want[9]).toBeLessThan(want[0] - 0.1);
      expectClose(got, want, 0, 1e-3, `${storage} loss curve vs the reference on the dequantized weights`);
      expectClose(got, f32, 0, vsF32, `${storage} loss curve vs the f32 run`);
      // And quantization is really in play: the curve is not the f32 one.
      expect(Math.max(...got.map((l, i) => Math.abs(l - f32[i]) / f32[i]))).toBeGreaterThan(1e-4);
    });
  }

  it('resume from a checkpoint continues exactly like an uninterrupted run (with dropout)', async () => {
    const ctx = await getTestContext();
    const cfg = tinyConfig();
    const weights = randomWeights(cfg, 401);
    const settings = { r: 4, alpha: 8, dropout: 0.1, targetModules: ['q_proj', 'v_proj', 'down_proj'] as LinearModule[], useRslora: true };
    const o = optim({ gradAccumSteps: 1 });
    const data = [0, 1, 2].map((i) => randomBatch(cfg, 2, 6, 410 + i, { packed: true }));
    const out = await expectNoGpuError(ctx, async () => {
      const model = await gpuModel(ctx, cfg, weights);
      const make = (initSeed: number) => new LoraTrainer(ctx, model, LoraParams.create(ctx, cfg, settings, initSeed), o, { B: 2, T: 6, seed: 9 });
      const full = make(5);
      const a = [];
      for (let s = 0; s < 6; s++) a.push((await full.step(data[s % 3])).loss);
      const first = make(5);
      for (let s = 0; s < 3; s++) await first.step(data[s % 3]);
      const ckpt = await first.checkpoint({ epoch: 1, index: 3 });
      const resumed = make(77); // different init: everything must come from the checkpoint
      resumed.restore(ckpt);
      const b = [];
      for (let s = 3; s < 6; s++) b.push((await resumed.step(data[s % 3])).loss);
      return { a, b, ckpt, resumedSteps: resumed.stepsCompleted };
    });
    expect(out.ckpt.step).toBe(3);
    expect(out.ckpt.dataPosition).toEqual({ epoch: 1, index: 3 });
    expect(out.resumedSteps).toBe(6);
    // Same kernels, same inputs, same order: bit-identical.
    expect(out.b).toEqual(out.a.slice(3));
    expect(out.a[3]).toBeLessThan(out.a[0]); // batch 0 again, after three updates
  });

  it('NaN/Inf stops the step with a clear error and leaves the adapter untouched', async () => {
    const ctx = await getTestContext();
    const cfg = tinyConfig();
    const weights = randomWeights(cfg, 501);
    const refLora = randomLora(cfg, 2, 502);
    refLora.weights.get(loraKeyB(1, 'up_proj'))![3] = Infinity;
    const lp = gpuLora(ctx, cfg, refLora, 2);
    const batch = randomBatch(cfg, 1, 5, 503);
    const err = await expectNoGpuError(ctx, async () => {
      const model: LlamaModel = await gpuModel(ctx, cfg, weights);
      const tr = new LoraTrainer(ctx, model, lp, optim({ gradAccumSteps: 1 }), { B: 1, T: 5, seed: 1 });
      const before = await lp.readFlat('params');
      const e = await tr.step(batch).catch((x: unknown) => x);
      const after = await lp.readFlat('params');
      const m = await lp.readFlat('m');
      return { e, same: before.every((x, i) => Object.is(x, after[i])), mZero: m.every((x) => x === 0), steps: tr.stepsCompleted };
    });
    expect(err.e).toBeInstanceOf(NonFiniteError);
    expect(String((err.e as Error).message)).toMatch(/step 1: .*NaN or infinite; the update was skipped/);
    expect(err.same).toBe(true);
    expect(err.mZero).toBe(true);
    expect(err.steps).toBe(0);
  });

  it('evalLoss equals the reference loss; adapter scale 0 gives the base model', async () => {
    const ctx = await getTestContext({ fallback: true });
    const cfg = tinyConfig({ attentionBias: true });
    const weights = randomWeights(cfg, 601);
    const refLora = randomLora(cfg, 3, 602);
    const batch = randomBatch(cfg, 2, 6, 603, { packed: true });
    const { referenceForward } = await import('../engine/reference/model');
    const got = await expectNoGpuError(ctx, async () => {
      const model = await gpuModel(ctx, cfg, weights);
      const tr = new LoraTrainer(ctx, model, gpuLora(ctx, cfg, refLora, 3), optim({ gradAccumSteps: 1 }), { B: 2, T: 6, seed: 1 });
      return { on: await tr.evalLoss(batch), off: await tr.evalLoss(batch, { loraScale: 0 }) };
    });
    expect(got.on.loss).toBeCloseTo(referenceForward(cfg, weights, refLora, batch).loss, 4);
    expect(got.off.loss).toBeCloseTo(referenceForward(cfg, weights, null, batch).loss, 4);
    expect(Math.abs(got.on.loss - got.off.loss)).toBeGreaterThan(1e-3);
  });

  it('the trained adapter survives PEFT export → import → load (same eval loss, same values)', async () => {
    const ctx = await getTestContext({ fallback: true });
    const cfg = tinyConfig({ tieWordEmbeddings: false });
    const weights = randomWeights(cfg, 701);
    const settings = { r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'k_proj', 'o_proj', 'up_proj'] as LinearModule[], useRslora: false, layersToTransform: [1] };
    const batch = randomBatch(cfg, 2, 6, 702, { packed: true });
    const out = await expectNoGpuError(ctx, async () => {
      const model = await gpuModel(ctx, cfg, weights);
      const a = new LoraTrainer(ctx, model, LoraParams.create(ctx, cfg, settings, 1), optim({ gradAccumSteps: 1 }), { B: 2, T: 6, seed: 1 });
      for (let s = 0; s < 3; s++) await a.step(batch);
      const adapter = await a.exportAdapter('test/tiny');
      const files = exportPeft(adapter, cfg);
      const store = await SafetensorsFile.open(memorySource(files['adapter_model.safetensors']));
      const back = await importPeft({ adapterConfig: files['adapter_config.json'], weights: store }, cfg);
      const b = new LoraTrainer(ctx, model, LoraParams.create(ctx, cfg, settings, 99), optim({ gradAccumSteps: 1 }), { B: 2, T: 6, seed: 1 });
      const before = (await b.evalLoss(batch)).loss;
      b.loadAdapter(back);
      return { adapter, keys: store.names(), la: (await a.evalLoss(batch)).loss, lb: (await b.evalLoss(batch)).loss, before, back };
    });
    expect(out.adapter.layers[0]).toEqual({});
    expect(Object.keys(out.adapter.layers[1]).sort()).toEqual(['k_proj', 'o_proj', 'q_proj', 'up_proj']);
    expect(out.keys).toContain('base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight');
    expect(out.adapter.layers[1].q_proj!.B.some((x) => x !== 0)).toBe(true); // B moved off zero
    expect(out.back.layers[1].up_proj!.A).toEqual(out.adapter.layers[1].up_proj!.A);
    expect(out.lb).toBe(out.la);
    expect(out.before).not.toBe(out.la);
  });

  it('on a device with WebGPU default limits a step runs cleanly; losing the device stops with DeviceLostError', async () => {
    // A device of its own (destroying the shared test device would break the other tests),
    // requested with no limits or features: the defaults every adapter guarantees.
    const adapter = await ownGpu.requestAdapter();
    if (!adapter) throw new Error('No WebGPU adapter from Dawn (backend=vulkan): see test/gpu-device.ts');
    const ctx = new GpuContext(await adapter.requestDevice());
    expect(ctx.caps.maxStorageBuffersPerShaderStage).toBe(8);
    expect(ctx.caps.maxComputeInvocationsPerWorkgroup).toBe(256);
    const cfg = tinyConfig();
    const weights = randomWeights(cfg, 801);
    const model = await gpuModel(ctx, cfg, weights);
    const tr = new LoraTrainer(ctx, model, LoraParams.create(ctx, cfg, { r: 2, alpha: 4, dropout: 0, targetModules: ['v_proj'], useRslora: false }, 1), optim({ gradAccumSteps: 1 }), { B: 1, T: 4, seed: 1 });
    const batch = randomBatch(cfg, 1, 4, 802);
    await expectNoGpuError(ctx, () => tr.step(batch));
    ctx.device.destroy();
    await expect(tr.step(batch)).rejects.toThrow(DeviceLostError);
    await expect(tr.step(batch)).rejects.toThrow(/device was lost \(destroyed.*resume from its last checkpoint/);
    expect(tr.stepsCompleted).toBe(1);
  });
});

describe('LoraTrainer with cached bind groups (GpuContext.cacheBindings)', () => {
  it('steps bit-identically to the uncached path, also after the graph is rebuilt for another batch shape', async () => {
    const ctx = await getTestContext();
    const cfg = tinyConfig({ numLayers: 2 });
    const weights = randomWeights(cfg, 501);
    const settings = { r: 4, alpha: 8, dropout: 0.1, targetModules: ['q_proj', 'v_proj', 'up_proj', 'down_proj'] as LinearModule[], useRslora: false };
    const o = optim({ gradAccumSteps: 1 });
    // Two shapes, run one after the other on the same context: the second trainer's graph gets
    // new activation buffers (the first's are destroyed), so a stale cached binding would show.
    const shapes = [[2, 6], [3, 5]] as const;
    const run = (cached: boolean) =>
      expectNoGpuError(ctx, async () => {
        ctx.cacheBindings = cached;
        try {
          const model = await gpuModel(ctx, cfg, weights);
          const out: { loss: number; gradNorm: number }[][] = [];
          const params: Float32Array[] = [];
          const inCache: number[] = [];
          for (const [B, T] of shapes) {
            const lora = LoraParams.create(ctx, cfg, settings, 7);
            const tr = new LoraTrainer(ctx, model, lora, o, { B, T, seed: 3 });
            const data = [0, 1].map((i) => randomBatch(cfg, B, T, 520 + i, { packed: true }));
            const res = [];
            for (const b of data) res.push(await tr.step(b));
            out.push(res.map((r) => ({ loss: r.loss, gradNorm: r.gradNorm })));
            params.push(await lora.readFlat('params'));
            inCache.push(ctx.cachedBindGroups);
            tr.destroy();
            lora.destroy();
          }
          return { out, params, inCache };
        } finally {
          ctx.cacheBindings = true;
        }
      });
    const uncached = await run(false);
    const before = ctx.cachedBindGroups; // other tests' entries on this shared context
    const cached = await run(true);
    expect(Math.min(...cached.inCache)).toBeGreaterThan(Math.max(...uncached.inCache)); // the cached path did use the cache
    expect(ctx.cachedBindGroups).toBe(before); // and dropped every entry whose buffers were destroyed
    expect(cached.out).toEqual(uncached.out);
    for (let s = 0; s < shapes.length; s++) expect(Array.from(cached.params[s])).toEqual(Array.from(uncached.params[s]));
    expect(uncached.out[0][1].loss).not.toBe(uncached.out[0][0].loss); // the steps did train
  });
});

describe('LoraTrainer with grouped LoRA down-projections (LlamaModel.groupLoraInputs)', () => {
  it('steps with dropout bit-identically to a dispatch per module (losses, every LoRA gradient and weight), in fewer dispatches', async () => {
    const ctx = await getTestContext();
    const cfg = tinyConfig({ numLayers: 2 });
    const weights = randomWeights(cfg, 601);
    const settings = { r: 4, alpha: 8, dropout: 0.1, targetModules: [...LINEAR_MODULES], useRslora: false };
    const [B, T] = [2, 6];
    const data = [0, 1, 2].map((i) => randomBatch(cfg, B, T, 620 + i, { packed: true }));
    const run = (grouped: boolean) =>
      expectNoGpuError(ctx, async () => {
        const model = await gpuModel(ctx, cfg, weights);
        model.groupLoraInputs = grouped;
        const lora = LoraParams.create(ctx, cfg, settings, 7);
        const tr = new LoraTrainer(ctx, model, lora, optim({ gradAccumSteps: 1 }), { B, T, seed: 3, recompute: true });
        const d0 = ctx.dispatches;
        const out = [];
        for (const b of data) out.push(await tr.step(b));
        const res = { dispatches: ctx.dispatches - d0, out: out.map((r) => ({ loss: r.loss, gradNorm: r.gradNorm })), params: await lora.readFlat('params'), grads: await lora.readFlat('grads') };
        tr.destroy();
        lora.destroy();
        return res;
      });
    const separate = await run(false);
    const grouped = await run(true);
    expect(grouped.out).toEqual(separate.out);
    expect(grouped.params.findIndex((v, i) => !Object.is(v, separate.params[i])), 'first differing LoRA weight').toBe(-1);
    expect(grouped.grads.findIndex((v, i) => !Object.is(v, separate.grads[i])), 'first differing LoRA gradient').toBe(-1);
    // Per step and layer: q/k/v and gate/up down-projections 5 → 2, in the forward and its recomputation, and their dA 5 → 2.
    expect(separate.dispatches - grouped.dispatches).toBe(data.length * cfg.numLayers * 3 * 2 + data.length * (cfg.numLayers - 1) * 3);
    expect(separate.out[1].loss).not.toBe(separate.out[0].loss); // the steps did train
  });
});

describe('LoraTrainer replaying its recorded steps (Recorder.replayOr)', () => {
  it('replayed steps give bit-identical metrics and parameters to recorded ones: pipelined, with evals between, resumed, and on a graph of another batch shape', async () => {
    const ctx = await getTestContext();
    const cfg = tinyConfig({ numLayers: 2 });
    const weights = randomWeights(cfg, 1101);
    const settings = { r: 4, alpha: 8, dropout: 0.1, targetModules: ['q_proj', 'v_proj', 'up_proj', 'down_proj'] as LinearModule[], useRslora: false };
    const o = optim({ gradAccumSteps: 2, schedule: { kind: 'cosine', lr: 2e-2, warmupSteps: 2, totalSteps: 12 } });
    // Targets partly ignored, so each step has its own loss scale (a step value like the seed, lr and t).
    const batches = (B: number, T: number, seed: number, n: number) => Array.from({ length: n }, (_, i) => [0, 1].map((j) => randomBatch(cfg, B, T, seed + 2 * i + j, { packed: true, ignoreFraction: 0.3 })));
    const data = batches(2, 6, 1110, 9);
    const other = batches(3, 5, 1150, 3);
    const run = (replay: boolean) =>
      expectNoGpuError(ctx, async () => {
        ctx.replayTapes = replay;
        const replayed = ctx.tapesReplayed;
        try {
          const model = await gpuModel(ctx, cfg, weights);
          const metrics: unknown[] = [];
          const evals: number[] = [];
          const add = (r: { step: number; loss: number; gradNorm: number; lr: number; clip: number; numTargets: number }) => metrics.push([r.step, r.loss, r.gradNorm, r.lr, r.clip, r.numTargets]);
          const loraA = LoraParams.create(ctx, cfg, settings, 7);
          const a = new LoraTrainer(ctx, model, loraA, o, { B: 2, T: 6, seed: 3 });
          for (const d of data.slice(0, 2)) {
            add(await a.step(d));
            evals.push((await a.evalLoss(d[0])).loss); // an eval between train steps rewrites the batch buffers
          }
          // Steps 3–5 queued two deep.
          const submit = (d: (typeof data)[number]) => {
            const p = a.submitStep(d);
            a.commitStep(p);
            return p;
          };
          const q = [submit(data[2]), submit(data[3])];
          add(await a.finishStep(q.shift()!));
          q.push(submit(data[4]));
          while (q.length) add(await a.finishStep(q.shift()!));
          evals.push((await a.evalLoss(data[0][0])).loss);
          const ckpt = await a.checkpoint();
          a.destroy();
          loraA.destroy();
          // Resumed on a new trainer and adapter (new buffers), steps 6–9.
          const loraB = LoraParams.create(ctx, cfg, settings, 8);
          const b = new LoraTrainer(ctx, model, loraB, o, { B: 2, T: 6, seed: 3 });
          b.restore(ckpt);
          for (const d of data.slice(5, 9)) add(await b.step(d));
          const resumed = await loraB.readFlat('params');
          // Another batch shape on the same model: a new graph.
          const c = new LoraTrainer(ctx, model, loraB, o, { B: 3, T: 5, seed: 3 });
          c.restore(await b.checkpoint());
          b.destroy();
          for (const d of other) add(await c.step(d));
          const final = await loraB.readFlat('params');
          c.destroy();
          loraB.destroy();
          return { metrics, evals, resumed: Array.from(resumed), final: Array.from(final), replays: ctx.tapesReplayed - replayed };
        } finally {
          ctx.replayTapes = true;
        }
      });
    const recorded = await run(false);
    const replayed = await run(true);
    expect(recorded.replays).toBe(0);
    // Two micro-batches a step, tapes by micro-batch and readback parity: a's steps 3–5, b's 8–9 and c's 3rd.
    expect(replayed.replays).toBe(2 * (3 + 2 + 1));
    expect(replayed.metrics).toEqual(recorded.metrics);
    expect(replayed.evals).toEqual(recorded.evals);
    expect(replayed.resumed).toEqual(recorded.resumed);
    expect(replayed.final).toEqual(recorded.final);
    expect(new Set(recorded.metrics.map((m) => (m as number[])[5])).size).toBeGreaterThan(3); // loss scales did differ between steps
  });
});

describe('LoraTrainer pipelined steps (submitStep / commitStep / finishStep / cancelStep)', () => {
  const cfg = tinyConfig({ numLayers: 2 });
  const weights = randomWeights(cfg, 901);
  const settings = { r: 4, alpha: 8, dropout: 0.1, targetModules: ['q_proj', 'v_proj', 'down_proj'] as LinearModule[], useRslora: false };
  const o = optim({ gradAccumSteps: 2, schedule: { kind: 'cosine', lr: 2e-2, warmupSteps: 2, totalSteps: 6 } });
  const data = [0, 1, 2, 3, 4, 5].map((i) => [0, 1].map((j) => randomBatch(cfg, 2, 6, 910 + 2 * i + j, { packed: true })));
  const metrics = (r: { step: number; loss: number; gradNorm: number; lr: number; clip: number; numTargets: number }) => ({ step: r.step, loss: r.loss, gradNorm: r.gradNorm, lr: r.lr, clip: r.clip, numTargets: r.numTargets });
  const state = async (tr: LoraTrainer) => (await Promise.all([tr.lora.readFlat('params'), tr.lora.readFlat('m'), tr.lora.readFlat('v')])).map((f) => Array.from(f));

  it('steps queued three deep give bit-identical parameters and each step its own metrics, in order', async () => {
    const ctx = await getTestContext();
    const out = await expectNoGpuError(ctx, async () => {
      const model = await gpuModel(ctx, cfg, weights);
      // No dropout, so each step's loss is also the eval loss of its batches before it (a check that reads no step readback).
      const make = () => new LoraTrainer(ctx, model, LoraParams.create(ctx, cfg, { ...settings, dropout: 0 }, 5), o, { B: 2, T: 6, seed: 9 });
      const seq = make();
      const a = [];
      const evalLosses = [];
      for (const d of data) {
        const e = await Promise.all(d.map((b) => seq.evalLoss(b)));
        evalLosses.push(e.reduce((s, x) => s + x.loss * x.numTargets, 0) / e.reduce((s, x) => s + x.numTargets, 0));
        a.push(metrics(await seq.step(d)));
      }
      const pipe = make();
      const b = [];
      const submit = (d: (typeof data)[number]) => {
        const p = pipe.submitStep(d);
        pipe.commitStep(p);
        return p;
      };
      const queued = [submit(data[0]), submit(data[1]), submit(data[2])];
      const inFlight = pipe.stepsInFlight;
      const outOfOrder = await pipe.finishStep(queued[1]).catch((e: unknown) => e);
      const refused = await pipe.checkpoint().catch((e: unknown) => e);
      for (let s = 3; s < data.length; s++) {
        b.push(metrics(await pipe.finishStep(queued.shift()!)));
        queued.push(submit(data[s]));
      }
      while (queued.length) b.push(metrics(await pipe.finishStep(queued.shift()!)));
      return { a, b, evalLosses, inFlight, outOfOrder, refused, pa: await seq.lora.readFlat('params'), pb: await pipe.lora.readFlat('params'), steps: pipe.stepsCompleted };
    });
    expect(out.inFlight).toBe(3);
    expect(String(out.outOfOrder)).toMatch(/finishStep: step 2 is not the oldest step in flight \(1\)/);
    expect(String(out.refused)).toMatch(/checkpoint needs the 3 step\(s\) in flight finished first/);
    expect(out.b.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(out.b).toEqual(out.a);
    out.a.forEach((m, i) => expect(m.loss).toBeCloseTo(out.evalLosses[i], 5));
    expect(new Set(out.a.map((m) => m.loss)).size).toBe(6); // distinct per step: a shifted attribution would show
    expect(Array.from(out.pb)).toEqual(Array.from(out.pa));
    expect(out.steps).toBe(6);
  });

  it('a step queued but not committed leaves the adapter and moments untouched; cancelled, the step taken again equals the uninterrupted one', async () => {
    const ctx = await getTestContext();
    const out = await expectNoGpuError(ctx, async () => {
      const model = await gpuModel(ctx, cfg, weights);
      const make = () => new LoraTrainer(ctx, model, LoraParams.create(ctx, cfg, settings, 5), o, { B: 2, T: 6, seed: 9 });
      const seq = make();
      const a = [metrics(await seq.step(data[0]))];
      const afterOne = await state(seq);
      a.push(metrics(await seq.step(data[1])));
      const tr = make();
      const first = tr.submitStep(data[0]);
      const uncommitted = String(await tr.finishStep(first).catch((e: unknown) => e));
      tr.commitStep(first);
      const ahead = tr.submitStep(data[3]); // not the data step 2 trains on
      const twoAhead = String((() => { try { tr.submitStep(data[4]); } catch (e) { return e; } })());
      const b = [metrics(await tr.finishStep(first))];
      const notNewest = tr.canCancel(first);
      const whileQueued = await state(tr); // queued after the step ahead's gradients
      tr.cancelStep(ahead);
      const after = { inFlight: tr.stepsInFlight, steps: tr.stepsCompleted, lr: tr.nextLr };
      b.push(metrics(await tr.step(data[1])));
      const [end, seqEnd] = [await state(tr), await state(seq)];
      return { a, b, uncommitted, twoAhead, notNewest, untouched: JSON.stringify(whileQueued) === JSON.stringify(afterOne), after, same: JSON.stringify(end) === JSON.stringify(seqEnd) };
    });
    expect(out.uncommitted).toMatch(/finishStep: step 1's update is not committed/);
    expect(out.twoAhead).toMatch(/step 3 cannot be submitted before step 2's update is committed/);
    expect(out.notNewest).toBe(false);
    expect(out.untouched).toBe(true);
    expect(out.after).toEqual({ inFlight: 0, steps: 1, lr: out.a[1].lr });
    expect(out.b).toEqual(out.a);
    expect(out.same).toBe(true);
  });

  it('a non-finite step with a step queued behind it: an uncommitted one is dropped, adapter untouched; a committed one makes the trainer refuse to go on until restore', async () => {
    const ctx = await getTestContext();
    const refLora = randomLora(cfg, 2, 502);
    refLora.weights.get(loraKeyB(1, 'up_proj'))![3] = Infinity;
    const out = await expectNoGpuError(ctx, async () => {
      const model = await gpuModel(ctx, cfg, weights);
      const run = async (commitAhead: boolean) => {
        const lp = gpuLora(ctx, cfg, refLora, 2);
        const tr = new LoraTrainer(ctx, model, lp, optim({ gradAccumSteps: 2 }), { B: 2, T: 6, seed: 1 });
        const ck = await tr.checkpoint();
        const first = tr.submitStep(data[0]);
        tr.commitStep(first);
        const ahead = tr.submitStep(data[1]);
        if (commitAhead) tr.commitStep(ahead);
        const e = await tr.finishStep(first).catch((x: unknown) => x);
        const inFlight = tr.stepsInFlight;
        const next = await tr.step(data[2]).catch((x: unknown) => String(x));
        let restored = null;
        if (commitAhead) {
          tr.restore(ck);
          restored = await tr.checkpoint().then((c) => Array.from(c.params).every((x, i) => Object.is(x, ck.params[i])));
        }
        const after = await lp.readFlat('params');
        return { e, inFlight, next, restored, untouched: Array.from(after).every((x, i) => Object.is(x, ck.params[i])), steps: tr.stepsCompleted };
      };
      return { drop: await run(false), keep: await run(true) };
    });
    expect(out.drop.e).toBeInstanceOf(NonFiniteError);
    expect(out.drop.inFlight).toBe(0);
    // The adapter still holds the Infinity, so the step after is skipped too; but it is step 1 again, the queued one was dropped.
    expect(out.drop.next).toMatch(/step 1: .*NaN or infinite/);
    expect(out.drop.untouched).toBe(true);
    expect(out.keep.e).toBeInstanceOf(NonFiniteError);
    expect(out.keep.inFlight).toBe(0);
    expect(out.keep.next).toMatch(/steps 2–2 ran on the GPU after step 1 was non-finite without being counted; restore a checkpoint/);
    expect(out.keep.restored).toBe(true);
    expect(out.keep.untouched).toBe(true);
    expect(out.keep.steps).toBe(0);
  });
});
