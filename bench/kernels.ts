// Kernel benchmark: GFLOP/s of our linear (frozen weight) and LoRA kernels at SmolLM2-135M
// training shapes, side by side with @tensorflow/tfjs-backend-webgpu's matMul on the SAME
// GPUDevice, plus the attention kernels. The rows, their data, FLOP counts and timing are
// src/engine/gpu/kernel-bench.ts's (the studio's GPU screen runs the same); this file adds tfjs.
// The linear rows also time our kernel with the weight as f16 and in GGUF Q8_0, Q4_0, Q4_K and
// Q6_K (dequantized on the fly inside the same GEMM; the K formats only where a row is whole
// 256-value blocks): `q*/f32` is their rate over the f32 weight's, timed in turns with it.
import type * as TfCore from '@tensorflow/tfjs-core';
import type { GpuContext } from '../src/engine/gpu/context';
import { type AttentionHeadDimRatios, type AttentionMatmulRatios, type AttentionWindowRatios, type KernelBenchOptions, type KernelGroup, type KernelOp, type WeightVariant, WEIGHT_VARIANTS, gflopsOf, kernelGroups, timeRuns, timeWithVariants } from '../src/engine/gpu/kernel-bench';
import { parseModelConfig } from '../src/engine/model/config';
import { SMOLLM2_135M } from './training';

export type { KernelBenchOptions } from '../src/engine/gpu/kernel-bench';

export interface BenchRow {
  kernel: string;
  shape: string;
  flops: number;
  oursMs: number;
  tfjsMs: number | null;
  /** Our kernel with the weight stored otherwise (f16 and the block formats), where measured. */
  variantMs: Partial<Record<WeightVariant, number>>;
}

type Tf = typeof TfCore;
interface TfWebgpuBackend {
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** tfjs-core with the WebGPU backend running on our device (its 'webgpu' backend, re-registered on our device). */
async function loadTfjs(device: GPUDevice, gpu: GPU): Promise<{ tf: Tf; flush: () => void }> {
  // The backend checks navigator.gpu at import time; Node 20 has no navigator.
  const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const tf = await import('@tensorflow/tfjs-core');
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  // Kernels are registered under the name 'webgpu': replace its factory with one on our device.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device));
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the WebGPU backend failed to initialise');
  await tf.ready();
  const backend = tf.backend() as unknown as TfWebgpuBackend;
  return {
    tf,
    flush: () => {
      backend.ensureCommandEncoderReady();
      backend.endComputePassEncoder();
      backend.submitQueue();
    },
  };
}

const gflops = (flops: number, ms: number | null) => (ms === null ? '—' : gflopsOf(flops, ms).toFixed(2));

export function formatTable(rows: BenchRow[]): string {
  const head = ['kernel', 'shape', 'GFLOP', 'ours ms', 'ours GFLOP/s', 'tfjs ms', 'tfjs GFLOP/s', 'ours/tfjs', ...WEIGHT_VARIANTS.flatMap((v) => [`${v}-W GFLOP/s`, `${v}/f32`])];
  const body = rows.map((r) => [
    r.kernel,
    r.shape,
    (r.flops / 1e9).toFixed(3),
    r.oursMs.toFixed(2),
    gflops(r.flops, r.oursMs),
    r.tfjsMs === null ? '—' : r.tfjsMs.toFixed(2),
    gflops(r.flops, r.tfjsMs),
    r.tfjsMs === null ? '—' : `${(r.tfjsMs / r.oursMs).toFixed(2)}×`,
    ...WEIGHT_VARIANTS.flatMap((v) => {
      const ms = r.variantMs[v] ?? null;
      return [gflops(r.flops, ms), ms === null ? '—' : `${(r.oursMs / ms).toFixed(2)}×`];
    }),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/**
 * Every row of src/engine/gpu/kernel-bench.ts (the kernels the studio's GPU screen times, at
 * SmolLM2-135M's shapes, timed the same way), with tfjs's matMul on the same products beside
 * ours: linear forward/backward (and our f16-weight variant), LoRA as its matMuls alone.
 */
export async function runKernelBench(ctx: GpuContext, gpu: GPU, opts: KernelBenchOptions, log: (s: string) => void = console.log): Promise<BenchRow[]> {
  const { device } = ctx;
  const { tf, flush } = await loadTfjs(device, gpu);
  const rows: BenchRow[] = [];
  const time = (run: () => void) => timeRuns(device, run, opts.reps, opts.warmup);
  for (const spec of kernelGroups(ctx, parseModelConfig(SMOLLM2_135M), opts)) {
    const g = spec.make();
    const t = tfjsOps(tf, flush, g);
    try {
      if (t.tw) await checkAgainstTfjs(ctx, tf, g, t.tx, t.tw);
      for (const m of g.measurements) {
        const { ms: oursMs, variantMs } = await timeWithVariants(device, m, opts.reps, opts.warmup);
        const tf = t.ops[m.op];
        const row: BenchRow = { kernel: m.kernel, shape: m.shape, flops: m.flops, oursMs, tfjsMs: tf ? await time(tf) : null, variantMs };
        rows.push(row);
        log(formatTable([row]).split('\n')[2]);
      }
    } finally {
      t.dispose();
      g.destroy();
    }
  }
  return rows;
}

/** Head dims of the attention rows: SmolLM2/Llama 3.2 (64), Qwen3 (128), Gemma 3 (256); same heads and T. */
export const ATTENTION_HEAD_DIMS = [64, 128, 256];

/** Issue #13's target lines: attention's rate per FLOP at each head dim over head dim 64's, taken per round (kernel-bench attentionHeadDimRatios). */
export function attentionHeadDimLines(r: AttentionHeadDimRatios): string[] {
  return r.ratios.map((x) => `attention D=${x.D} rate per FLOP vs D=64 (timed in turns, median of ${r.rounds} per-round ratios): forward ${x.forward.toFixed(2)}×, backward ${x.backward.toFixed(2)}× (target ≥ 0.7×)`);
}

/** Issue #16's target line: attention at the model's head dim over our matmul, ratios taken per round (kernel-bench attentionMatmulRatios). */
export function attentionMatmulLine(r: AttentionMatmulRatios, D: number): string {
  const g = r.gflops;
  return `attention D=${D} rate vs our matmul (${r.matmul} ${r.shape}: (fwd+bwd FLOPs)/(fwd+bwd ms), timed in turns with attention, median of ${r.rounds} per-round ratios): ` +
    `forward ${r.forward.toFixed(2)}×, backward ${r.backward.toFixed(2)}× (target ≥ 0.8×); median GFLOP/s forward ${g.forward.toFixed(2)}, backward ${g.backward.toFixed(2)}, matmul ${g.matmul.toFixed(2)}`;
}

/** Issue #13's window line: a sliding-window layer's time over a full-attention layer's, taken per round (kernel-bench attentionWindowRatios). */
export function attentionWindowLine(r: AttentionWindowRatios): string {
  // The causal pairs a window keeps bound the ratio from below: at T=2048, W=512 they are 0.44 of
  // the full layer's, so a kernel that skips every tile outside the window lands near there.
  return `attention window ${r.W} time vs full attention (timed in turns, median of ${r.rounds} per-round ratios): forward ${r.forward.toFixed(2)}×, backward ${r.backward.toFixed(2)}×; ` +
    `the window keeps ${r.pairs.toFixed(2)}× of the causal pairs (target ≤ 0.4× at T=2048, window 512); window median GFLOP/s forward ${r.gflops.forward.toFixed(2)}, backward ${r.gflops.backward.toFixed(2)}`;
}

/** tfjs's matMuls computing a group's products from the same data (none for attention: tfjs has no fused attention). */
function tfjsOps(tf: Tf, flush: () => void, g: KernelGroup) {
  const { rows, inF, outF } = g.dims;
  const tensors: TfCore.Tensor[] = [];
  const t2 = (name: string, shape: [number, number]) => {
    const d = g.data[name];
    if (!d) return null;
    const x = tf.tensor2d(d, shape);
    tensors.push(x);
    return x;
  };
  const tx = t2('x', [rows, inF]);
  const tdout = t2('dout', [rows, outF]);
  const tw = t2('w', [outF, inF]);
  const R = g.data.A ? g.data.A.length / inF : 0;
  const tA = t2('A', [R, inF]);
  const tB = t2('B', [outF, R]);
  const th = t2('h', [rows, R]);
  const op = (f: () => void) => () => {
    tf.tidy(f);
    flush();
  };
  const ops: Partial<Record<KernelOp, () => void>> = {};
  if (tx && tdout && tw) {
    ops['linear forward'] = op(() => void tf.matMul(tx, tw, false, true));
    ops['linear backward'] = op(() => void tf.matMul(tdout, tw));
  }
  // tfjs gets only the matMuls (no dropout, scaling or accumulation): a lower bound on its time.
  if (tx && tdout && tA && tB && th) {
    ops['lora forward'] = op(() => void tf.matMul(tf.matMul(tx, tA, false, true), tB, false, true));
    ops['lora backward'] = op(() => {
      tf.matMul(tdout, th, true, false); // dB
      const tdh = tf.matMul(tdout, tB); // dh
      tf.matMul(tdh, tx, true, false); // dA
      tf.matMul(tdh, tA); // dx
    });
  }
  return { tx, tw, ops, dispose: () => tensors.forEach((x) => x.dispose()) };
}

/** Sanity check before timing: our forward and tfjs's agree on this shape (else the comparison is meaningless). */
async function checkAgainstTfjs(ctx: GpuContext, tf: Tf, g: KernelGroup, tx: TfCore.Tensor2D | null, tw: TfCore.Tensor2D): Promise<void> {
  const fwd = g.measurements.find((m) => m.op === 'linear forward');
  if (!fwd || !tx) return;
  fwd.run();
  const rows = Math.min(g.dims.rows, 8);
  const ours = await ctx.readF32(g.out, rows * g.dims.outF);
  const ref = tf.tidy(() => tf.matMul(tf.slice(tx, [0, 0], [rows, -1]), tw, false, true));
  const theirs = (await ref.data()) as Float32Array;
  ref.dispose();
  let worst = 0;
  for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]) / (1e-3 + Math.abs(theirs[i])));
  if (!(worst < 1e-2)) throw new Error(`${g.name}: our forward and tfjs matMul disagree (worst relative error ${worst})`);
}
