// The kernel benchmark shared by `npm run bench` (which adds tfjs's matMul beside ours) and the
// studio's GPU screen: our linear (frozen weight), LoRA and attention kernels at a model's
// shapes, each timed the same way (record + submit + onSubmittedWorkDone, median after a
// warm-up), with the FLOP counts both report. Benchmark only: never run by the engine itself.
import type { GpuContext, Recorder } from './context';
import { type Weight, matmulBackward, matmulForward } from './kernels/matmul';
import { type BlockDType, BLOCK_GGML_TYPE, packWeightBlocks } from './kernels/weights';
import { GGML_BLOCK, quantize } from '../model/quant';
import { randomBlocks } from '../smoke-util';
import { loraBackward, loraForward } from './kernels/lora';
import { attentionBackward, attentionBackwardScratchBytes, attentionForward, attentionForwardFlops } from './kernels/attention';
import { type ModelConfig } from '../model/config';

export interface KernelBenchOptions {
  /** Tokens per step (B·T) for the projections. */
  BT: number;
  /** Rows for the LM head (training runs it in row chunks). */
  lmHeadBT: number;
  /** LoRA rank. */
  R: number;
  /** Sequence length for the attention rows (B = 1; causal attention cost grows as T²). */
  attnT: number;
  /** Head dims of the attention rows (default: the model's); same heads and T for each. */
  attnHeadDims?: number[];
  reps: number;
  warmup: number;
  /** Only rows whose name matches (e.g. /q_proj|lora/). */
  filter?: RegExp;
}

/** What a comparison (the bench's tfjs) needs to compute the same product. */
export type KernelOp = 'linear forward' | 'linear backward' | 'lora forward' | 'lora backward' | 'attention forward' | 'attention backward';

export interface KernelMeasurement {
  kernel: string;
  op: KernelOp;
  shape: string;
  flops: number;
  /** Records and submits one run of our kernel. */
  run(): void;
  /** The same with the weight stored otherwise (linear rows: f16 on devices with shader-f16, the GGUF block formats whose block fits the row). */
  variants?: Partial<Record<WeightVariant, () => void>>;
}

/** The linear rows' other weight formats, each timed beside the f32 weight (#13's target for the block formats: ≥ 0.8× its rate). */
export const WEIGHT_VARIANTS = ['f16', 'q8_0', 'q4_0', 'q4_k', 'q6_k'] as const;
export type WeightVariant = (typeof WEIGHT_VARIANTS)[number];
const BLOCK_VARIANTS = ['q8_0', 'q4_0', 'q4_k', 'q6_k'] as const satisfies readonly (WeightVariant & BlockDType)[];

/** The benchmark's blocks for `w` ([rows, inF]): quantized where we have a quantizer (Q8_0, Q4_0), else random blocks of the format (Q4_K, Q6_K: only the speed matters here). */
function benchBlocks(dtype: BlockDType, w: Float32Array, inF: number, seed: number): Uint8Array {
  const type = BLOCK_GGML_TYPE[dtype];
  if (type === 'Q8_0' || type === 'Q4_0') return quantize(type, w, inF);
  let s = seed >>> 0;
  return randomBlocks(dtype, w.length, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296));
}

/** A group of measurements sharing buffers (one projection's linear and LoRA rows, or attention). */
export interface KernelGroup {
  name: string;
  /** Rows (tokens) and feature sizes of the group's tensors. */
  dims: { rows: number; inF: number; outF: number };
  /** The data uploaded, row-major, for comparisons: x [rows, inF], w [outF, inF], dout [rows, outF], A [R, inF], B [outF, R], h [rows, R]. */
  data: Record<string, Float32Array>;
  /** Our linear forward's output [rows, outF] (a comparison checks it before timing). */
  out: GPUBuffer;
  measurements: KernelMeasurement[];
  destroy(): void;
}

export interface KernelBenchRow {
  kernel: string;
  shape: string;
  flops: number;
  ms: number;
  /** With the weight stored otherwise; absent where not measured. */
  variantMs: Partial<Record<WeightVariant, number>>;
}

/** LM-head rows by default (training runs the head in row chunks; 2048×49152 logits are 400 MB). */
export const LM_HEAD_BENCH_ROWS = 64;

/** GFLOP/s of `flops` in `ms`. */
export const gflopsOf = (flops: number, ms: number): number => flops / (ms * 1e6);

interface Linear {
  name: string;
  inF: number;
  outF: number;
  lora: boolean;
}

/** The model's linears; projections with equal shapes share a row (same kernel, same shape). */
export function benchLinears(cfg: ModelConfig): Linear[] {
  const C = cfg.hiddenSize;
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  const rows: Linear[] = [
    { name: q === C ? 'q_proj/o_proj' : 'q_proj', inF: C, outF: q, lora: true },
    ...(q === C ? [] : [{ name: 'o_proj', inF: q, outF: C, lora: true }]),
    { name: 'k_proj/v_proj', inF: C, outF: kv, lora: true },
    { name: 'gate_proj/up_proj', inF: C, outF: cfg.intermediateSize, lora: true },
    { name: 'down_proj', inF: cfg.intermediateSize, outF: C, lora: true },
    { name: 'lm_head', inF: C, outF: cfg.vocabSize, lora: false },
  ];
  return rows;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Median wall time of each of `runs` (record + submit + onSubmittedWorkDone), sampled in
 * turns (one sample of each run per round), so a load spike on a shared machine slows all of
 * them alike and their ratios (a weight format's rate over f32's) hold. The first round is
 * never a sample: pipelines compile there, which on a cold shader cache takes seconds (on
 * lavapipe, 27 s for attention's backward). Further warmup rounds are untimed unless a run
 * took over a second: then the round counts and the warmup ends. Further rounds until `reps`
 * or about 2.5 s per run spent (budgetMsPerRun), so a full-size run stays within minutes.
 */
export async function timeInTurns(device: GPUDevice, runs: readonly (() => void)[], reps: number, warmup: number): Promise<number[]> {
  const rounds = await sampleInTurns(device, runs, reps, warmup);
  return runs.map((_, i) => median(rounds.map((r) => r[i])));
}

/** timeInTurns's rounds: each round's wall time of every run (ms), for ratios taken per round. */
export async function sampleInTurns(device: GPUDevice, runs: readonly (() => void)[], reps: number, warmup: number, budgetMsPerRun = 2500): Promise<number[][]> {
  const once = async (run: () => void) => {
    const t0 = performance.now();
    run();
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  const round = async () => {
    const ts: number[] = [];
    for (const run of runs) ts.push(await once(run));
    return ts;
  };
  const rounds: number[][] = [];
  for (let i = 0; i < warmup; i++) {
    const ts = await round();
    if (i > 0 && Math.max(...ts) > 1000) {
      rounds.push(ts);
      break;
    }
  }
  const sum = (r: number[]) => r.reduce((a, b) => a + b, 0);
  let spent = rounds.reduce((a, r) => a + sum(r), 0);
  while (rounds.length < reps && (rounds.length === 0 || spent < budgetMsPerRun * runs.length)) {
    const ts = await round();
    rounds.push(ts);
    spent += sum(ts);
  }
  return rounds;
}

/** Median wall time of one run (timeInTurns of it alone). */
export async function timeRuns(device: GPUDevice, run: () => void, reps: number, warmup: number): Promise<number> {
  return (await timeInTurns(device, [run], reps, warmup))[0];
}

export function randomF32(n: number, seed: number, scale = 1): Float32Array {
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

/** A run of one measurement: record into a fresh recorder, submit. */
const submitter = (ctx: GpuContext) => (record: (rec: Recorder) => void) => () => {
  const rec = ctx.recorder();
  record(rec);
  rec.submit();
};

const LORA_DROPOUT = { p: 0.1, seed: 42 };
const LORA_SCALING = 2;

/**
 * The benchmark's groups for `cfg`, made one at a time (`make` allocates, `destroy` frees),
 * so the LM head's large weight is never held together with another group's buffers.
 */
export function kernelGroups(ctx: GpuContext, cfg: ModelConfig, opts: Omit<KernelBenchOptions, 'reps' | 'warmup'>): { name: string; make(): KernelGroup }[] {
  const want = (name: string) => !opts.filter || opts.filter.test(name);
  const groups: { name: string; make(): KernelGroup }[] = [];
  let seed = 1;
  for (const L of benchLinears(cfg)) {
    const doLinear = want(`${L.name} linear`);
    const doLora = L.lora && want(`${L.name} lora`);
    if (!doLinear && !doLora) continue;
    const s0 = (seed += 10);
    groups.push({ name: L.name, make: () => linearGroup(ctx, L, L.name === 'lm_head' ? opts.lmHeadBT : opts.BT, opts.R, doLinear, doLora, s0) });
  }
  // Filtered per head dim, so `--only 'attention D=64'` times one group (long T is slow on lavapipe).
  for (const D of opts.attnHeadDims ?? [cfg.headDim]) {
    const name = `attention D=${D}`;
    if (want(name)) groups.push({ name, make: () => attentionGroup(ctx, cfg, opts.attnT, D) });
  }
  return groups;
}

function linearGroup(ctx: GpuContext, L: Linear, BT: number, R: number, doLinear: boolean, doLora: boolean, seed: number, withVariants = true): KernelGroup {
  const { inF, outF } = L;
  const shape = `BT=${BT} ${inF}→${outF}`;
  const data: Record<string, Float32Array> = { x: randomF32(BT * inF, seed), dout: randomF32(BT * outF, seed + 1) };
  const bufs: GPUBuffer[] = [];
  const keep = (b: GPUBuffer) => (bufs.push(b), b);
  const x = keep(ctx.upload(data.x));
  const dout = keep(ctx.upload(data.dout));
  const out = keep(ctx.createBuffer(BT * outF * 4));
  const dinp = keep(ctx.createBuffer(BT * inF * 4));
  const measurements: KernelMeasurement[] = [];
  const submit = submitter(ctx);
  if (doLinear) {
    data.w = randomF32(outF * inF, seed + 2, 0.05);
    const w32: Weight = { buffer: keep(ctx.upload(data.w)), dtype: 'f32' };
    const others: Partial<Record<WeightVariant, Weight>> = {};
    if (withVariants && ctx.caps.f16) others.f16 = { buffer: keep(ctx.upload(toF16Bits(data.w))), dtype: 'f16' };
    for (const dtype of withVariants ? BLOCK_VARIANTS : []) {
      if (inF % GGML_BLOCK[BLOCK_GGML_TYPE[dtype]].values === 0) others[dtype] = { buffer: keep(ctx.upload(packWeightBlocks(dtype, benchBlocks(dtype, data.w, inF, seed + 6)))), dtype };
    }
    const fwd = (w: Weight) => submit((rec) => matmulForward(ctx, rec, out, x, w, null, BT, inF, outF));
    const bwd = (w: Weight) => submit((rec) => matmulBackward(ctx, rec, dinp, dout, w, BT, inF, outF, { accumulate: false }));
    const variants = (f: (w: Weight) => () => void) => Object.fromEntries(Object.entries(others).map(([k, w]) => [k, f(w)]));
    const flops = 2 * BT * inF * outF;
    measurements.push({ kernel: `${L.name} linear forward`, op: 'linear forward', shape, flops, run: fwd(w32), variants: variants(fwd) });
    measurements.push({ kernel: `${L.name} linear backward`, op: 'linear backward', shape, flops, run: bwd(w32), variants: variants(bwd) });
  }
  if (doLora) {
    data.A = randomF32(R * inF, seed + 3, 0.05);
    data.B = randomF32(outF * R, seed + 4, 0.05);
    data.h = randomF32(BT * R, seed + 5);
    const A = keep(ctx.upload(data.A));
    const B = keep(ctx.upload(data.B));
    const h = keep(ctx.upload(data.h));
    const dh = keep(ctx.createBuffer(BT * R * 4));
    const dA = keep(ctx.createBuffer(R * inF * 4));
    const dB = keep(ctx.createBuffer(outF * R * 4));
    const fwdFlops = 2 * BT * R * (inF + outF);
    measurements.push({
      kernel: `${L.name} lora forward (R=${R}, p=${LORA_DROPOUT.p})`, op: 'lora forward', shape, flops: fwdFlops,
      run: submit((rec) => loraForward(ctx, rec, out, h, x, A, B, BT, inF, outF, R, LORA_SCALING, LORA_DROPOUT)),
    });
    measurements.push({
      kernel: `${L.name} lora backward (R=${R}, p=${LORA_DROPOUT.p})`, op: 'lora backward', shape, flops: 2 * fwdFlops,
      run: submit((rec) => loraBackward(ctx, rec, dinp, dA, dB, dh, dout, x, h, A, B, BT, inF, outF, R, LORA_SCALING, LORA_DROPOUT)),
    });
  }
  return { name: L.name, dims: { rows: BT, inF, outF }, data, out, measurements, destroy: () => bufs.forEach((b) => ctx.destroy(b)) };
}

/** The window rows' kernel name (the bench pairs them with the full rows of the same shape). */
const windowKernel = (op: 'forward' | 'backward', W: number) => `attention ${op} (window ${W})`;

function attentionGroup(ctx: GpuContext, cfg: ModelConfig, T: number, D: number, window?: number): KernelGroup {
  const H = cfg.numHeads;
  const KVH = cfg.numKvHeads;
  const B = 1;
  const BT = B * T;
  const bufs: GPUBuffer[] = [];
  const keep = (b: GPUBuffer) => (bufs.push(b), b);
  const q = keep(ctx.upload(randomF32(BT * H * D, 11)));
  const k = keep(ctx.upload(randomF32(BT * KVH * D, 12)));
  const v = keep(ctx.upload(randomF32(BT * KVH * D, 13)));
  const dout = keep(ctx.upload(randomF32(BT * H * D, 14)));
  const out = keep(ctx.createBuffer(BT * H * D * 4));
  const lse = keep(ctx.createBuffer(B * H * T * 4));
  const seg = keep(ctx.upload(new Uint32Array(BT)));
  const dq = keep(ctx.createBuffer(BT * H * D * 4));
  const dk = keep(ctx.createBuffer(BT * KVH * D * 4));
  const dv = keep(ctx.createBuffer(BT * KVH * D * 4));
  const stats = keep(ctx.createBuffer(attentionBackwardScratchBytes(B, T, H)));
  const shape = `B=${B} T=${T} H=${H} KVH=${KVH} D=${D}`;
  const submit = submitter(ctx);
  const rows = (W?: number): KernelMeasurement[] => {
    const opts = W ? { window: W } : {};
    const fwdFlops = attentionForwardFlops(B, T, H, D, W);
    return [
      { kernel: W ? windowKernel('forward', W) : 'attention forward', op: 'attention forward', shape, flops: fwdFlops, run: submit((rec) => attentionForward(ctx, rec, out, lse, q, k, v, seg, B, T, H, KVH, D, opts)) },
      // Useful FLOPs of the backward: 2.5× the forward's (the kernels also recompute QKᵀ).
      { kernel: W ? windowKernel('backward', W) : 'attention backward', op: 'attention backward', shape, flops: 2.5 * fwdFlops, run: submit((rec) => attentionBackward(ctx, rec, dq, dk, dv, stats, dout, q, k, v, out, lse, seg, B, T, H, KVH, D, opts)) },
    ];
  };
  return {
    name: `attention D=${D}`,
    dims: { rows: BT, inF: H * D, outF: H * D },
    data: {},
    out,
    measurements: [...rows(), ...(window ? rows(window) : [])],
    destroy: () => bufs.forEach((b) => ctx.destroy(b)),
  };
}

/** A measurement's time and its weight variants' (where it has them), timed in turns. */
export async function timeWithVariants(device: GPUDevice, m: KernelMeasurement, reps: number, warmup: number): Promise<{ ms: number; variantMs: Partial<Record<WeightVariant, number>> }> {
  const variants = WEIGHT_VARIANTS.flatMap((v) => (m.variants?.[v] ? [[v, m.variants[v]] as const] : []));
  const [ms, ...rest] = await timeInTurns(device, [m.run, ...variants.map(([, run]) => run)], reps, warmup);
  return { ms, variantMs: Object.fromEntries(variants.map(([v], i) => [v, rest[i]])) };
}

/** Our kernels only (the studio's GPU screen): every row timed with timeRuns; `onRow` as each finishes. */
export async function runKernelBench(ctx: GpuContext, cfg: ModelConfig, opts: KernelBenchOptions, onRow: (r: KernelBenchRow) => void = () => {}): Promise<KernelBenchRow[]> {
  const rows: KernelBenchRow[] = [];
  for (const g of kernelGroups(ctx, cfg, opts)) {
    const group = g.make();
    try {
      for (const m of group.measurements) {
        const row = { kernel: m.kernel, shape: m.shape, flops: m.flops, ...(await timeWithVariants(ctx.device, m, opts.reps, opts.warmup)) };
        rows.push(row);
        onRow(row);
      }
    } finally {
      group.destroy();
    }
  }
  return rows;
}

/** Attention over our matmul in one bench run (attentionMatmulRatios). */
export interface AttentionMatmulRatios {
  /** The matmul reference: kernel name and shape. */
  matmul: string;
  shape: string;
  rounds: number;
  /** Medians over rounds of each round's attention rate over the matmul's. */
  forward: number;
  backward: number;
  /** Median GFLOP/s over the same rounds. */
  gflops: { forward: number; backward: number; matmul: number };
}

/**
 * attentionMatmulRatios's figures from its rounds of [attention forward, attention backward,
 * matmul forward, matmul backward] ms and those runs' FLOPs: each round's attention rates over
 * that round's matmul rate ((forward + backward FLOPs) / (forward + backward ms)), median over rounds.
 */
export function perRoundRatios(rounds: readonly number[][], flops: readonly number[]): Omit<AttentionMatmulRatios, 'matmul' | 'shape'> {
  const gf = (runs: number[]) => medianGflops(rounds, flops, runs);
  return {
    rounds: rounds.length,
    forward: medianRateRatio(rounds, flops, [0], [2, 3]),
    backward: medianRateRatio(rounds, flops, [1], [2, 3]),
    gflops: { forward: gf([0]), backward: gf([1]), matmul: gf([2, 3]) },
  };
}

/** Every one of `reps` rounds of `runs` in turns, however long, after one untimed round (pipelines compile there): for ratios taken per round. */
async function roundsAfterCompile(device: GPUDevice, runs: readonly (() => void)[], reps: number): Promise<number[][]> {
  for (const run of runs) run();
  await device.queue.onSubmittedWorkDone();
  return sampleInTurns(device, runs, reps, 0, Infinity);
}

/** A round's rate of some runs together: their FLOPs over their ms (FLOP/ms). */
const roundRate = (round: readonly number[], flops: readonly number[], runs: readonly number[]) => runs.reduce((a, i) => a + flops[i], 0) / runs.reduce((a, i) => a + round[i], 0);

/** Median over rounds of some runs' rate together, in GFLOP/s. */
const medianGflops = (rounds: readonly number[][], flops: readonly number[], runs: readonly number[]) => median(rounds.map((r) => roundRate(r, flops, runs))) / 1e6;

/** Median over rounds of runs `a`'s rate over runs `b`'s in the same round (timed in turns, so a load spike cancels). */
export function medianRateRatio(rounds: readonly number[][], flops: readonly number[], a: readonly number[], b: readonly number[]): number {
  return median(rounds.map((r) => roundRate(r, flops, a) / roundRate(r, flops, b)));
}

/** Attention's rate per FLOP at each head dim over head dim `dims[0]`'s, per round (attentionHeadDimRatios). */
export interface AttentionHeadDimRatios {
  rounds: number;
  ratios: Array<{ D: number; forward: number; backward: number }>;
}

/**
 * Attention forward and backward at each of `dims` (the first is the reference, 64), the
 * model's heads at T = opts.attnT, timed in turns (one sample of each per round) with each
 * head dim's rate per FLOP over the reference's taken per round: issue #13's target is ≥ 0.7×.
 * Rows timed one after another swing with the load of a shared machine; ratios within a round
 * do not.
 */
export async function attentionHeadDimRatios(ctx: GpuContext, cfg: ModelConfig, opts: Omit<KernelBenchOptions, 'filter'>, dims: readonly number[]): Promise<AttentionHeadDimRatios> {
  const groups = dims.map((D) => attentionGroup(ctx, cfg, opts.attnT, D));
  try {
    // Per head dim: its forward then its backward (the rows of a group without a window).
    const ms = groups.flatMap((g) => g.measurements.slice(0, 2));
    const rounds = await roundsAfterCompile(ctx.device, ms.map((m) => m.run), opts.reps);
    const flops = ms.map((m) => m.flops);
    return {
      rounds: rounds.length,
      ratios: dims.slice(1).map((D, j) => ({ D, forward: medianRateRatio(rounds, flops, [2 * (j + 1)], [0]), backward: medianRateRatio(rounds, flops, [2 * (j + 1) + 1], [1]) })),
    };
  } finally {
    groups.forEach((g) => g.destroy());
  }
}

/**
 * Attention forward and backward at the model's head dim, T = opts.attnT (the attention rows'
 * group), over our matmul's rate, timed in turns with it (one sample of each per round, so a
 * load spike on a shared machine slows both alike) and taken per round: issue #16's target is
 * ≥ 0.8×. The matmul reference is the model's first projection (q_proj: hidden → H·D, the product
 * feeding attention) as our f32 linear at BT = opts.BT, forward and backward together: its rate in
 * a round is (forward + backward FLOPs) / (forward + backward ms), one figure for "our matmul".
 */
export async function attentionMatmulRatios(ctx: GpuContext, cfg: ModelConfig, opts: Omit<KernelBenchOptions, 'filter'>): Promise<AttentionMatmulRatios> {
  const L = benchLinears(cfg)[0];
  const lin = linearGroup(ctx, L, opts.BT, opts.R, true, false, 1, false);
  const att = attentionGroup(ctx, cfg, opts.attnT, cfg.headDim);
  try {
    const pick = (g: KernelGroup, op: KernelOp) => {
      const m = g.measurements.find((x) => x.op === op);
      if (!m) throw new Error(`kernel bench: no ${op} row in ${g.name}`);
      return m;
    };
    const ms = [pick(att, 'attention forward'), pick(att, 'attention backward'), pick(lin, 'linear forward'), pick(lin, 'linear backward')];
    // Every round of opts.reps, however long (the time budget of timeInTurns would stop a loaded run after a few).
    const rounds = await roundsAfterCompile(ctx.device, ms.map((m) => m.run), opts.reps);
    return { matmul: `${L.name} linear forward+backward`, shape: ms[2].shape, ...perRoundRatios(rounds, ms.map((m) => m.flops)) };
  } finally {
    lin.destroy();
    att.destroy();
  }
}

/** A sliding-window layer's time over a full-attention layer's, per round (attentionWindowRatios). */
export interface AttentionWindowRatios {
  W: number;
  rounds: number;
  /** Medians over rounds of the window layer's time over the full layer's. */
  forward: number;
  backward: number;
  /** The share of causal pairs the window keeps: the ratio's floor for a kernel whose work follows the pairs. */
  pairs: number;
  /** The window layer's median GFLOP/s over the same rounds. */
  gflops: { forward: number; backward: number };
}

/**
 * Attention at the model's head dim, T = opts.attnT, with a window of W keys and without one,
 * timed in turns and taken per round (issue #13's target: ≤ 0.4× at T = 2048, W = 512).
 */
export async function attentionWindowRatios(ctx: GpuContext, cfg: ModelConfig, opts: Omit<KernelBenchOptions, 'filter'>, W: number): Promise<AttentionWindowRatios> {
  const g = attentionGroup(ctx, cfg, opts.attnT, cfg.headDim, W);
  try {
    const ms = g.measurements; // full forward, full backward, window forward, window backward
    const rounds = await roundsAfterCompile(ctx.device, ms.map((m) => m.run), opts.reps);
    // A time ratio is a rate ratio with each run counted as one unit of work: (1/t_full) / (1/t_window).
    const unit = ms.map(() => 1);
    const flops = ms.map((m) => m.flops);
    return { W, rounds: rounds.length, forward: medianRateRatio(rounds, unit, [0], [2]), backward: medianRateRatio(rounds, unit, [1], [3]), pairs: flops[2] / flops[0], gflops: { forward: medianGflops(rounds, flops, [2]), backward: medianGflops(rounds, flops, [3]) } };
  } finally {
    g.destroy();
  }
}
