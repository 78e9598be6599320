// Kernel benchmark: GFLOP/s of our linear (frozen weight) and LoRA kernels at SmolLM2-135M
// training shapes, side by side with @tensorflow/tfjs-backend-webgpu's matMul on the SAME
// GPUDevice, plus the attention kernels. The linear rows also time our kernel with the weight
// quantized to GGUF Q8_0 and Q4_0 (dequantized on the fly inside the same GEMM): the ratio
// column is their rate over the f32 weight's (issue #13's target: ≥ 0.8×). Wall-clock per repetition = record + submit + wait
// for onSubmittedWorkDone; median of `reps` after `warmup` untimed runs. Bench only, never tests.
import type * as TfCore from '@tensorflow/tfjs-core';
import type { GpuContext } from '../src/engine/gpu/context';
import { type Weight, type WeightDType, matmulBackward, matmulForward } from '../src/engine/gpu/kernels/matmul';
import { loraBackward, loraForward } from '../src/engine/gpu/kernels/lora';
import { packWeightBlocks } from '../src/engine/gpu/kernels/weights';
import { quantize } from '../src/engine/model/quant';

/** The weight dtypes quantized from the f32 weight for the linear rows. */
const QUANT = [['q8_0', 'Q8_0'], ['q4_0', 'Q4_0']] as const;
type QuantDType = (typeof QUANT)[number][0];

export interface KernelBenchOptions {
  /** Tokens per step (B·T) for the projection layers. */
  BT: number;
  /** Rows for the LM head (training runs it in row chunks; 2048×49152 logits are 400 MB). */
  lmHeadBT: number;
  /** LoRA rank. */
  R: number;
  /** Sequence length for the attention rows (B = 1; causal attention cost grows as T²). */
  attnT: number;
  reps: number;
  warmup: number;
  /** Only rows whose name matches (e.g. /q_proj|lora/). */
  filter?: RegExp;
}

export interface BenchRow {
  kernel: string;
  shape: string;
  flops: number;
  oursMs: number;
  tfjsMs: number | null;
  oursF16Ms: number | null;
  /** Linear rows: our kernel with the weight quantized (ms). */
  quantMs?: Record<QuantDType, number>;
}

/** SmolLM2-135M: hidden 576, MLP 1536, vocab 49152, 9 heads / 3 kv heads of 64. */
const C = 576;
const F = 1536;
const V = 49152;
const H = 9;
const KVH = 3;
const D = 64;

interface Linear {
  name: string;
  inF: number;
  outF: number;
  lora: boolean;
}

// Projections with equal shapes share a row (their timings are the same kernel on the same shape).
const LINEARS: Linear[] = [
  { name: 'q_proj/o_proj', inF: C, outF: C, lora: true },
  { name: 'k_proj/v_proj', inF: C, outF: (C / H) * KVH, lora: true },
  { name: 'gate_proj/up_proj', inF: C, outF: F, lora: true },
  { name: 'down_proj', inF: F, outF: C, lora: true },
  { name: 'lm_head', inF: C, outF: V, lora: false },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Median wall time of `run` (record + submit + onSubmittedWorkDone). The first run is an
 * untimed warmup (pipeline compiles, tfjs buffer pools) unless it took over a second: then
 * compiles are a negligible share and it counts as a sample. Further samples until `reps`
 * or about 2.5 s spent on this measurement, so a full-size run stays within minutes.
 */
async function timeIt(device: GPUDevice, run: () => void, reps: number, warmup: number): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    run();
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  const times: number[] = [];
  for (let i = 0; i < warmup; i++) {
    const t = await once();
    if (t > 1000) {
      times.push(t);
      break;
    }
  }
  let spent = times.reduce((a, b) => a + b, 0);
  while (times.length < reps && (times.length === 0 || spent < 2500)) {
    const t = await once();
    times.push(t);
    spent += t;
  }
  return median(times);
}

function randomF32(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return a;
}

/** f32 → f16 bits, truncating the mantissa (fine for benchmark data in a normal range). */
function toF16Bits(a: Float32Array): Uint16Array {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = u[i];
    const sign = (x >>> 16) & 0x8000;
    const e = ((x >>> 23) & 0xff) - 127 + 15;
    out[i] = e <= 0 ? sign : e >= 31 ? sign | 0x7c00 : sign | (e << 10) | ((x >>> 13) & 0x3ff);
  }
  return out;
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

const gflops = (flops: number, ms: number | null) => (ms === null ? '—' : (flops / (ms * 1e6)).toFixed(2));

export function formatTable(rows: BenchRow[]): string {
  const head = ['kernel', 'shape', 'GFLOP', 'ours ms', 'ours GFLOP/s', 'tfjs ms', 'tfjs GFLOP/s', 'ours/tfjs', 'f16-W ms', 'f16-W GFLOP/s', ...QUANT.flatMap(([q]) => [`${q}-W GFLOP/s`, `${q}/f32`])];
  const body = rows.map((r) => [
    r.kernel,
    r.shape,
    (r.flops / 1e9).toFixed(3),
    r.oursMs.toFixed(2),
    gflops(r.flops, r.oursMs),
    r.tfjsMs === null ? '—' : r.tfjsMs.toFixed(2),
    gflops(r.flops, r.tfjsMs),
    r.tfjsMs === null ? '—' : `${(r.tfjsMs / r.oursMs).toFixed(2)}×`,
    r.oursF16Ms === null ? '—' : r.oursF16Ms.toFixed(2),
    gflops(r.flops, r.oursF16Ms),
    ...QUANT.flatMap(([q]) => {
      const ms = r.quantMs?.[q] ?? null;
      return [gflops(r.flops, ms), ms === null ? '—' : `${(r.oursMs / ms).toFixed(2)}×`];
    }),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/**
 * Runs every kernel row: linear forward/backward (ours f32 weight, tfjs f32, ours f16 weight
 * when the device has shader-f16) and LoRA forward/backward (ours vs the same products as tfjs
 * matMuls), then attention if its launcher is present. Returns the rows; logs progress.
 */
export async function runKernelBench(ctx: GpuContext, gpu: GPU, opts: KernelBenchOptions, log: (s: string) => void = console.log): Promise<BenchRow[]> {
  const { device } = ctx;
  const { tf, flush } = await loadTfjs(device, gpu);
  const rows: BenchRow[] = [];
  const want = (name: string) => !opts.filter || opts.filter.test(name);
  const time = (run: () => void) => timeIt(device, run, opts.reps, opts.warmup);
  let seed = 1;

  for (const L of LINEARS) {
    const BT = L.name === 'lm_head' ? opts.lmHeadBT : opts.BT;
    const { inF, outF } = L;
    const shape = `BT=${BT} ${inF}→${outF}`;
    const doLinear = want(`${L.name} linear`);
    const doLora = L.lora && want(`${L.name} lora`);
    if (!doLinear && !doLora) continue;
    const wData = randomF32(outF * inF, seed++, 0.05);
    const xData = randomF32(BT * inF, seed++);
    const gData = randomF32(BT * outF, seed++);
    const x = ctx.upload(xData);
    const dout = ctx.upload(gData);
    const out = ctx.createBuffer(BT * outF * 4);
    const dinp = ctx.createBuffer(BT * inF * 4);
    const tx = tf.tensor2d(xData, [BT, inF]);
    const tdout = tf.tensor2d(gData, [BT, outF]);

    if (doLinear) {
      const w32: Weight = { buffer: ctx.upload(wData), dtype: 'f32' };
      const w16: Weight | null = ctx.caps.f16 ? { buffer: ctx.upload(toF16Bits(wData)), dtype: 'f16' } : null;
      const wq = QUANT.map(([dtype, type]): Weight => ({ buffer: ctx.upload(packWeightBlocks(dtype, quantize(type, wData, inF))), dtype }));
      const tw = tf.tensor2d(wData, [outF, inF]);
      const ours = (w: Weight, fn: 'fwd' | 'bwd') => () => {
        const rec = ctx.recorder();
        if (fn === 'fwd') matmulForward(ctx, rec, out, x, w, null, BT, inF, outF);
        else matmulBackward(ctx, rec, dinp, dout, w, BT, inF, outF, { accumulate: false });
        rec.submit();
      };
      const tfjs = (fn: 'fwd' | 'bwd') => () => {
        tf.tidy(() => (fn === 'fwd' ? tf.matMul(tx, tw, false, true) : tf.matMul(tdout, tw)));
        flush();
      };
      await checkAgainstTfjs(ctx, tf, out, tx, tw, BT, outF, () => ours(w32, 'fwd')(), L.name);
      const flops = 2 * BT * inF * outF;
      for (const fn of ['fwd', 'bwd'] as const) {
        const dtypes: WeightDType[] = w16 ? ['f32', 'f16'] : ['f32'];
        const ms: Record<string, number> = {};
        for (const dt of dtypes) ms[dt] = await time(ours(dt === 'f16' && w16 ? w16 : w32, fn));
        const tfMs = await time(tfjs(fn));
        const quantMs = {} as Record<QuantDType, number>;
        for (const w of wq) quantMs[w.dtype as QuantDType] = await time(ours(w, fn));
        const row: BenchRow = { kernel: `${L.name} linear ${fn === 'fwd' ? 'forward' : 'backward'}`, shape, flops, oursMs: ms.f32, tfjsMs: tfMs, oursF16Ms: ms.f16 ?? null, quantMs };
        rows.push(row);
        log(formatTable([row]).split('\n')[2]);
      }
      tw.dispose();
      ctx.destroy(w32.buffer as GPUBuffer);
      if (w16) ctx.destroy(w16.buffer as GPUBuffer);
      for (const w of wq) ctx.destroy(w.buffer as GPUBuffer);
    }

    if (doLora) {
      const R = opts.R;
      const A = ctx.upload(randomF32(R * inF, seed++, 0.05));
      const B = ctx.upload(randomF32(outF * R, seed++, 0.05));
      const h = ctx.createBuffer(BT * R * 4);
      const dh = ctx.createBuffer(BT * R * 4);
      const dA = ctx.createBuffer(R * inF * 4);
      const dB = ctx.createBuffer(outF * R * 4);
      const tA = tf.tensor2d(randomF32(R * inF, 7, 0.05), [R, inF]);
      const tB = tf.tensor2d(randomF32(outF * R, 8, 0.05), [outF, R]);
      const th = tf.tensor2d(randomF32(BT * R, 9), [BT, R]);
      const scaling = 2;
      const fwdFlops = 2 * BT * R * (inF + outF);
      const bwdFlops = 2 * fwdFlops;
      const oursFwd = () => {
        const rec = ctx.recorder();
        loraForward(ctx, rec, out, h, x, A, B, BT, inF, outF, R, scaling, { p: 0.1, seed: 42 });
        rec.submit();
      };
      const oursBwd = () => {
        const rec = ctx.recorder();
        loraBackward(ctx, rec, dinp, dA, dB, dh, dout, x, h, A, B, BT, inF, outF, R, scaling, { p: 0.1, seed: 42 });
        rec.submit();
      };
      // tfjs gets only the matMuls (no dropout, scaling or accumulation): a lower bound on its time.
      const tfFwd = () => {
        tf.tidy(() => tf.matMul(tf.matMul(tx, tA, false, true), tB, false, true));
        flush();
      };
      const tfBwd = () => {
        tf.tidy(() => {
          tf.matMul(tdout, th, true, false); // dB
          const tdh = tf.matMul(tdout, tB); // dh
          tf.matMul(tdh, tx, true, false); // dA
          tf.matMul(tdh, tA); // dx
        });
        flush();
      };
      for (const [name, flops, o, t] of [
        ['forward', fwdFlops, oursFwd, tfFwd],
        ['backward', bwdFlops, oursBwd, tfBwd],
      ] as const) {
        const oursMs = await time(o);
        const tfMs = await time(t);
        const row: BenchRow = { kernel: `${L.name} lora ${name} (R=${R}, p=0.1)`, shape, flops, oursMs, tfjsMs: tfMs, oursF16Ms: null };
        rows.push(row);
        log(formatTable([row]).split('\n')[2]);
      }
      for (const b of [A, B, h, dh, dA, dB]) ctx.destroy(b);
      for (const t of [tA, tB, th]) t.dispose();
    }
    for (const b of [x, dout, out, dinp]) ctx.destroy(b);
    tx.dispose();
    tdout.dispose();
  }

  if (want('attention')) rows.push(...(await benchAttention(ctx, opts, time, log)));
  return rows;
}

/** Sanity check before timing: our forward and tfjs's agree on this shape (else the comparison is meaningless). */
async function checkAgainstTfjs(
  ctx: GpuContext,
  tf: Tf,
  out: GPUBuffer,
  tx: TfCore.Tensor2D,
  tw: TfCore.Tensor2D,
  BT: number,
  OC: number,
  runOurs: () => void,
  name: string,
): Promise<void> {
  runOurs();
  const rows = Math.min(BT, 8);
  const ours = await ctx.readF32(out, rows * OC);
  const ref = tf.tidy(() => tf.matMul(tf.slice(tx, [0, 0], [rows, -1]), tw, false, true));
  const theirs = (await ref.data()) as Float32Array;
  ref.dispose();
  let worst = 0;
  for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]) / (1e-3 + Math.abs(theirs[i])));
  if (!(worst < 1e-2)) throw new Error(`${name}: our forward and tfjs matMul disagree (worst relative error ${worst})`);
}

type Timer = (run: () => void) => Promise<number>;

// Eager: resolved when this file loads (an empty record if the module does not exist), so a
// dev-server restart during a long run cannot break a late dynamic import.
const attentionModules = import.meta.glob('../src/engine/gpu/kernels/attention.ts', { eager: true });

/**
 * Hook for the attention kernels (another engineer's module): loaded only if present, and
 * skipped with a note if its exports are not the expected launchers.
 */
async function benchAttention(ctx: GpuContext, opts: KernelBenchOptions, time: Timer, log: (s: string) => void): Promise<BenchRow[]> {
  const m = attentionModules['../src/engine/gpu/kernels/attention.ts'] as Record<string, unknown> | undefined;
  if (!m) {
    log('attention: src/engine/gpu/kernels/attention.ts not present, skipped');
    return [];
  }
  const fwd = m.attentionForward as ((...a: unknown[]) => void) | undefined;
  const bwd = m.attentionBackward as ((...a: unknown[]) => void) | undefined;
  const scratchBytes = m.attentionBackwardScratchBytes as ((B: number, T: number, H: number) => number) | undefined;
  if (typeof fwd !== 'function' || typeof bwd !== 'function' || typeof scratchBytes !== 'function') {
    log('attention: launchers not found in attention.ts (expected attentionForward/attentionBackward), skipped');
    return [];
  }
  const T = opts.attnT;
  const B = 1;
  const BT = B * T;
  const q = ctx.upload(randomF32(BT * H * D, 11));
  const k = ctx.upload(randomF32(BT * KVH * D, 12));
  const v = ctx.upload(randomF32(BT * KVH * D, 13));
  const dout = ctx.upload(randomF32(BT * H * D, 14));
  const out = ctx.createBuffer(BT * H * D * 4);
  const lse = ctx.createBuffer(B * H * T * 4);
  const seg = ctx.upload(new Uint32Array(BT));
  const dq = ctx.createBuffer(BT * H * D * 4);
  const dk = ctx.createBuffer(BT * KVH * D * 4);
  const dv = ctx.createBuffer(BT * KVH * D * 4);
  const stats = ctx.createBuffer(scratchBytes(B, T, H));
  // Causal: about half of the T² score matrix; forward = QKᵀ and PV, backward ≈ 2.5× that.
  const fwdFlops = 2 * 2 * B * H * D * ((T * (T + 1)) / 2);
  const shape = `B=${B} T=${T} H=${H} KVH=${KVH} D=${D}`;
  const rows: BenchRow[] = [];
  const fMs = await time(() => {
    const rec = ctx.recorder();
    fwd(ctx, rec, out, lse, q, k, v, seg, B, T, H, KVH, D);
    rec.submit();
  });
  rows.push({ kernel: 'attention forward', shape, flops: fwdFlops, oursMs: fMs, tfjsMs: null, oursF16Ms: null });
  const bMs = await time(() => {
    const rec = ctx.recorder();
    bwd(ctx, rec, dq, dk, dv, stats, dout, q, k, v, out, lse, seg, B, T, H, KVH, D);
    rec.submit();
  });
  rows.push({ kernel: 'attention backward', shape, flops: 2.5 * fwdFlops, oursMs: bMs, tfjsMs: null, oursF16Ms: null });
  for (const r of rows) log(formatTable([r]).split('\n')[2]);
  for (const b of [q, k, v, dout, out, lse, seg, dq, dk, dv, stats]) ctx.destroy(b);
  return rows;
}
