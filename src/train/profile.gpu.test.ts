import { describe, expect, it } from 'vitest';
import { GpuContext } from '../engine/gpu/context';
import { defaultOptimConfig } from '../engine/optim/config';
import { randomLora, randomWeights, tinyConfig } from '../engine/model/tiny-random.testutil';
import { gpuLora, gpuModel } from '../engine/model/gpu-model.testutil';
import { expectNoGpuError, getTestContext } from '../../test/gpu-device';
import { LoraTrainer } from './trainer';
import { formatProfile, formatStepGaps, measureStepGaps, profileTrainerStep, syntheticBatch } from './profile';
import { TimestampProfiler } from '../engine/gpu/profile';

async function tinyTrainer(ctx: GpuContext) {
  const cfg = tinyConfig({ numLayers: 2 });
  const model = await gpuModel(ctx, cfg, randomWeights(cfg, 41));
  const lora = gpuLora(ctx, cfg, randomLora(cfg, 4, 42, { zeroB: true, scaling: 2 }), 4);
  const trainer = new LoraTrainer(ctx, model, lora, defaultOptimConfig(), { B: 2, T: 8, seed: 1 });
  return { trainer, batch: syntheticBatch(2, 8, cfg.vocabSize) };
}

describe('profileTrainerStep', () => {
  it('with timestamp-query: every dispatch of the step timed, named and summed per kernel', async () => {
    const ctx = await getTestContext();
    expect(ctx.caps.timestamps).toBe(true); // Dawn on lavapipe grants it: this path must run here
    const p = await expectNoGpuError(ctx, async () => {
      const { trainer, batch } = await tinyTrainer(ctx);
      return profileTrainerStep(ctx, trainer, [batch], { steps: 2 });
    });
    expect(ctx.timer).toBeNull();
    expect(p.timestamps).toBe(true);
    expect(p.stepMs).toHaveLength(2);
    const k = p.kernels!;
    expect(k.dropped).toBe(0);
    // The profiled step is the same graph as the timed ones: as many samples as dispatches.
    expect(k.rows.reduce((n, r) => n + r.calls, 0)).toBe(p.dispatches);
    const calls = Object.fromEntries(k.rows.map((r) => [r.kernel, r.calls]));
    expect(calls.adamw).toBe(1);
    expect(calls.global_norm_finalize).toBe(1);
    expect(calls.lora_forward_a).toBeGreaterThan(0);
    // LoRA's up-projection and dinp term run as the base matmuls' epilogues: one fused
    // dispatch per adapted linear forward / backward, none of the separate kind.
    expect(calls.matmul_backward_lora).toBe(calls.lora_backward_dh);
    // The modules that share an input (q/k/v, gate/up) get their h and their dA in one dispatch
    // per group: of the 7 adapted linears per layer, 4 down-projections and 7 dB + 4 dA.
    expect(calls.lora_forward_a * 7).toBe(calls.matmul_forward_lora * 4);
    expect(calls.lora_backward * 7).toBe(calls.matmul_backward_lora * 11);
    expect(calls.lora_forward_b).toBeUndefined();
    expect(calls.lora_backward_dx).toBeUndefined();
    expect(calls.matmul_forward).toBeGreaterThan(0);
    for (const r of k.rows) {
      expect(r.totalMs).toBeGreaterThanOrEqual(0);
      expect(r.share).toBeLessThanOrEqual(1);
    }
    expect(k.kernelMs).toBeLessThanOrEqual(k.spanMs + 1e-9);
    expect(k.rows.find((r) => r.kernel === 'matmul_forward')!.gflops).not.toBeNull();
    expect(formatProfile(p)).toMatch(/matmul_forward\s+\d+/);
  });

  it('a profiled step (a pass per dispatch) computes exactly what an ordinary step does', async () => {
    const ctx = await getTestContext();
    const run = async (profiled: boolean) => {
      const { trainer, batch } = await tinyTrainer(ctx);
      const profiler = profiled ? new TimestampProfiler(ctx) : null;
      ctx.timer = profiler;
      try {
        const r = await trainer.step([batch]);
        return { loss: r.loss, gradNorm: r.gradNorm, params: await trainer.lora.readFlat('params') };
      } finally {
        ctx.timer = null;
        profiler?.destroy();
        trainer.destroy();
      }
    };
    const plain = await run(false);
    const profiled = await expectNoGpuError(ctx, () => run(true));
    expect(profiled.loss).toBe(plain.loss);
    expect(profiled.gradNorm).toBe(plain.gradNorm);
    expect(profiled.params).toEqual(plain.params);
  });

  it('without timestamp-query (forced off): says so and reports whole-step times only', async () => {
    const base = await getTestContext();
    const ctx = new GpuContext(base.device, { timestamps: false });
    const p = await expectNoGpuError(ctx, async () => {
      const { trainer, batch } = await tinyTrainer(ctx);
      return profileTrainerStep(ctx, trainer, [batch], { steps: 3 });
    });
    expect(p.timestamps).toBe(false);
    expect(p.kernels).toBeNull();
    expect(p.stepMs).toHaveLength(3);
    expect(p.dispatches).toBeGreaterThan(0);
    expect(p.note).toMatch(/does not grant timestamp-query/);
    expect(formatProfile(p)).toMatch(/whole step [\d.]+ ms[^]*timestamp-query/);
  });
});

describe('measureStepGaps', () => {
  it('times pipelined steps: one gap per pair of consecutive steps, each the GPU idle time between them; null without timestamp-query', async () => {
    const ctx = await getTestContext();
    const got = await expectNoGpuError(ctx, async () => {
      const { trainer, batch } = await tinyTrainer(ctx);
      const gaps = await measureStepGaps(ctx, trainer, [batch], { steps: 4 });
      return { gaps, steps: trainer.stepsCompleted, inFlight: trainer.stepsInFlight };
    });
    expect(ctx.timer).toBeNull();
    expect(got.steps).toBe(4);
    expect(got.inFlight).toBe(0);
    expect(got.gaps).toHaveLength(7); // 4 steps × (gradients, update): 8 submissions
    // Each submission reads what the one before wrote (activations, gradients, parameters): it cannot begin before that one ends.
    for (const g of got.gaps!) expect(g).toBeGreaterThanOrEqual(0);
    expect(formatStepGaps(got.gaps!)).toMatch(/median [\d.]+ ms, max [\d.]+ ms over 7 gaps \(target ≤ 1 ms\)/);
    const off = new GpuContext((await getTestContext()).device, { timestamps: false });
    const { trainer } = await tinyTrainer(off);
    expect(await measureStepGaps(off, trainer, [syntheticBatch(2, 8, 64)], { steps: 2 })).toBeNull();
    await expect(measureStepGaps(ctx, trainer, [syntheticBatch(2, 8, 64)], { steps: 1 })).rejects.toThrow(/steps=1 must be an integer ≥ 2/);
    trainer.destroy();
  });
});
