// `npm run bench` (vite-node bench/run.ts): benchmarks on the Node Dawn device.
//   --quick            small BT (256; LM head 32) and fewer repetitions: a smoke run in seconds
//   --bt N             tokens per step for the projections (default 2048, or BENCH_BT)
//   --lm-bt N          rows for the LM head (default 64, or BENCH_LM_BT)
//   --attn-t N         sequence length for the attention rows, B = 1 (default 256, or BENCH_ATTN_T)
//   --attn-window W    the sliding-window rows' window (default N/4); a fixed W at growing N shows the T·W cost
//   --reps N --warmup N
//   --only REGEX       only kernel rows whose name matches, e.g. --only 'q_proj|lora'
//   --fallback         no shader-f16 / subgroups (Chrome's software adapter)
//   --kernels          only the kernel table (no training, host-cost or generation parts)
//   --host             only the host cost per step (dispatches, JS ms to record), in seconds
//   --profile          only the per-kernel profile of one training step (GPU timestamps)
//   --no-timestamps    as if the adapter had no timestamp-query (the profile's other path)
//   --quant            only the CPU quantizers (µs/value per GGUF block type; no device)
// Parts: bench/kernels.ts and bench/generation.ts (batched greedy decode tokens/s) always; bench/training.ts when it exists (another engineer's part:
// export `runTrainingBench(ctx: GpuContext, args: BenchArgs): Promise<void>`).
import { create, globals } from 'webgpu';
import type { GpuContext } from '../src/engine/gpu/context';
import { requestEngineDevice } from '../src/engine/gpu/device';
import { LM_HEAD_BENCH_ROWS, attentionHeadDimRatios, attentionMatmulRatios, attentionWindowRatios } from '../src/engine/gpu/kernel-bench';
import { parseModelConfig } from '../src/engine/model/config';
import { SMOLLM2_135M } from './training';
import { ATTENTION_HEAD_DIMS, attentionHeadDimLines, attentionMatmulLine, attentionWindowLine, formatTable, runKernelBench } from './kernels';
import { runGenerationBench } from './generation';
import { runQuantizeBench } from './quantize';

Object.assign(globalThis, globals);

// Optional parts, resolved eagerly at load (empty when the file does not exist).
const trainingModules = import.meta.glob('./training.ts', { eager: true });

export interface BenchArgs {
  quick: boolean;
  BT: number;
  lmHeadBT: number;
  attnT: number;
  attnWindow: number;
  reps: number;
  warmup: number;
  only?: RegExp;
  fallback: boolean;
  kernelsOnly: boolean;
  hostOnly: boolean;
  profile: boolean;
  noTimestamps: boolean;
  quant: boolean;
}

function parseArgs(argv: string[]): BenchArgs {
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (flag: string, env: string | undefined, dflt: number): number => {
    const s = get(flag) ?? env;
    if (s === undefined) return dflt;
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} ${s}: expected a positive integer`);
    return n;
  };
  const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const only = get('--only');
  const attnT = num('--attn-t', process.env.BENCH_ATTN_T, quick ? 64 : 256);
  return {
    quick,
    BT: num('--bt', process.env.BENCH_BT, quick ? 256 : 2048),
    lmHeadBT: num('--lm-bt', process.env.BENCH_LM_BT, quick ? 32 : LM_HEAD_BENCH_ROWS),
    attnT,
    attnWindow: num('--attn-window', undefined, Math.max(1, attnT >> 2)),
    reps: num('--reps', process.env.BENCH_REPS, 3),
    warmup: num('--warmup', process.env.BENCH_WARMUP, 1),
    only: only ? new RegExp(only) : undefined,
    fallback: argv.includes('--fallback'),
    kernelsOnly: argv.includes('--kernels'),
    hostOnly: argv.includes('--host'),
    profile: argv.includes('--profile'),
    noTimestamps: argv.includes('--no-timestamps'),
    quant: argv.includes('--quant'),
  };
}

async function makeDevice(fallback: boolean): Promise<{ ctx: GpuContext; gpu: GPU; description: string }> {
  // The same device the CLI and the studio get: fast-path features where present, limits raised.
  const gpu = create(['backend=vulkan']);
  const { ctx, adapter } = await requestEngineDevice(gpu, { fallback }).catch((e: Error) => {
    throw new Error(`${e.message} Install libvulkan1 and Mesa >= 25 lavapipe (scripts/setup-system.sh).`, { cause: e });
  });
  ctx.device.addEventListener('uncapturederror', (e) => console.error('WebGPU error:', (e as GPUUncapturedErrorEvent).error.message));
  const description = `${adapter.vendor} ${adapter.architecture} ${adapter.description}`.trim() + ` [${[...ctx.device.features].join(', ') || 'no optional features'}]`;
  return { ctx, gpu, description };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.quant) return runQuantizeBench(args);
  const { ctx, gpu, description } = await makeDevice(args.fallback);
  if (args.noTimestamps) ctx.caps.timestamps = false;
  console.log(`device: ${description}`);
  console.log(`kernels: BT=${args.BT}, LM head rows=${args.lmHeadBT}, attention T=${args.attnT}, R=16, median of ${args.reps} after ${args.warmup} warmup${args.quick ? ' (quick)' : ''}`);
  const m = trainingModules['./training.ts'] as { runTrainingBench?: (ctx: GpuContext, args: BenchArgs) => Promise<void>; profileBench?: (ctx: GpuContext, args: BenchArgs) => Promise<void> } | undefined;
  if (m && typeof m.runTrainingBench !== 'function') throw new Error('bench/training.ts must export runTrainingBench(ctx, args)');
  if (args.profile) {
    if (!m?.profileBench) throw new Error('--profile needs bench/training.ts (profileBench)');
    await m.profileBench(ctx, args);
    ctx.device.destroy();
    return;
  }
  if (args.hostOnly) {
    if (!m?.runTrainingBench) throw new Error('--host needs bench/training.ts');
    await m.runTrainingBench(ctx, args);
    ctx.device.destroy();
    return;
  }
  const t0 = performance.now();
  const rows = await runKernelBench(ctx, gpu, { BT: args.BT, lmHeadBT: args.lmHeadBT, attnT: args.attnT, attnHeadDims: ATTENTION_HEAD_DIMS, R: 16, reps: args.reps, warmup: args.warmup, filter: args.only }, (s) => console.log(`  ${s}`));
  console.log(`\n${formatTable(rows)}`);
  console.log('ours/tfjs = tfjs time / our time (>1: ours faster). f16-W, q*-W: our kernel with the weight stored as f16 (tfjs has no f16 matMul) or in GGUF Q8_0 / Q4_0 / Q4_K / Q6_K (K formats: rows of whole 256-value blocks only); */f32 = that rate over the f32 weight\'s, timed in turns with it (#13 target for the block formats: ≥ 0.8×).');
  // The attention target lines, each timed on its own in turns: #13's head dims over 64 where the
  // filter keeps every head dim's rows; #13's window and #16's head dim 64 over our matmul where it keeps the model's.
  const cfg = parseModelConfig(SMOLLM2_135M);
  const keeps = (D: number) => !args.only || args.only.test(`attention D=${D}`);
  const opts = { BT: args.BT, lmHeadBT: args.lmHeadBT, attnT: args.attnT, R: 16, reps: args.reps, warmup: args.warmup };
  if (ATTENTION_HEAD_DIMS.every(keeps)) for (const line of attentionHeadDimLines(await attentionHeadDimRatios(ctx, cfg, opts, ATTENTION_HEAD_DIMS))) console.log(line);
  if (keeps(cfg.headDim)) {
    console.log(attentionWindowLine(await attentionWindowRatios(ctx, cfg, opts, args.attnWindow)));
    console.log(attentionMatmulLine(await attentionMatmulRatios(ctx, cfg, opts), cfg.headDim));
  }
  console.log(`kernel bench took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (args.kernelsOnly) {
    ctx.device.destroy();
    return;
  }

  // Optional part written by another engineer.
  if (m?.runTrainingBench) await m.runTrainingBench(ctx, args);
  await runGenerationBench(ctx, args);
  ctx.device.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
