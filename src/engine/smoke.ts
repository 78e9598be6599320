// Kernel smoke checks: every kernel once, on a small random problem, against its float64
// reference. Used in real Chromium (whose Dawn differs from Node's) through the worker, and
// by the GPU status panel. Add one entry per kernel: the last row ('shader coverage') fails
// when a shaders/ file (kernel or library) that this adapter can compile was not compiled by any entry.
import { uniformSource } from './optim/rng';
import { type GpuCaps, GpuContext } from './gpu/context';
import { WGSL_LIB, withoutEnables } from './gpu/kernels/wgsl';
import { rowLayout, rowReads } from './gpu/kernels/attention';
import { residualForward } from './gpu/kernels/residual';
import { residualForward as residualRef } from './reference/residual';
import { elementwiseSmokeChecks } from './smoke-elementwise';
import { modelKernelSmokeChecks } from './smoke-model-kernels';

export interface SmokeResult {
  kernel: string;
  ok: boolean;
  maxAbsErr: number;
  tolerance: number;
  ms: number;
  error?: string;
  /** shaders/ files whose source the check compiled (paths below shaders/, sorted). */
  shaders?: string[];
}

export interface SmokeCheck {
  kernel: string;
  /** A device feature the check needs; without it the check does not run (the coverage row says so). */
  requires?: 'f16';
  /** atol + rtol·|ref| bound, applied element-wise. */
  atol: number;
  rtol: number;
  run(ctx: GpuContext, rand: () => number): Promise<{ got: Float32Array; want: Float64Array }>;
}

/** Uniforms in [-0.5, 0.5) from the project's seeded generator. */
export function seeded(seed: number): () => number {
  const u = uniformSource(seed);
  return () => u() - 0.5;
}

const randF64 = (rand: () => number, n: number) => Float64Array.from({ length: n }, rand);

const checks: SmokeCheck[] = [
  {
    kernel: 'residual_forward',
    atol: 1e-6,
    rtol: 1e-6,
    async run(ctx, rand) {
      const N = 1000;
      const a = randF64(rand, N);
      const b = randF64(rand, N);
      const want = new Float64Array(N);
      residualRef(want, a, b, N);
      const out = ctx.createBuffer(N * 4);
      const rec = ctx.recorder();
      residualForward(ctx, rec, out, ctx.upload(Float32Array.from(a)), ctx.upload(Float32Array.from(b)), N);
      rec.submit();
      return { got: await ctx.readF32(out, N), want };
    },
  },
  ...elementwiseSmokeChecks,
  ...modelKernelSmokeChecks,
];

/** Every check, in run order (the golden-output test reruns them on fixed inputs). */
export const smokeChecks: readonly SmokeCheck[] = checks;

// Every kernel and library source, by path below shaders/ ('matmul_forward.wgsl',
// 'lib/gemm.wgsl'), to tell which files a check really compiled.
const shaderSources: Record<string, string> = Object.fromEntries(
  Object.entries(import.meta.glob<string>('../../shaders/**/*.wgsl', { query: '?raw', import: 'default', eager: true })).map(([path, src]) => [
    path.slice(path.indexOf('shaders/') + 'shaders/'.length),
    src,
  ]),
);

/** Paths below shaders/ of all its .wgsl files, sorted. */
export const shaderFiles = (): string[] => Object.keys(shaderSources).sort();

/** The feature a shader file needs (from its `enable` directive), or null. */
export function shaderRequirement(file: string): 'f16' | 'subgroups' | null {
  const src = shaderSources[file] ?? '';
  if (/^\s*enable\s+f16\s*;/m.test(src)) return 'f16';
  if (/^\s*enable\s+subgroups\s*;/m.test(src)) return 'subgroups';
  return null;
}

/** The files whose whole source (less the `enable` directives composition gathers at the top) is in one of the compiled modules. */
function filesIn(codes: Set<string>): string[] {
  return shaderFiles().filter((f) => [...codes].some((code) => code.includes(withoutEnables(shaderSources[f]))));
}

/** Names of the checks; with `caps`, only those that run on such a device. */
export const smokeKernelNames = (caps?: { f16: boolean }): string[] => checks.filter((c) => !caps || c.requires !== 'f16' || caps.f16).map((c) => c.kernel);

async function runCheck(ctx: GpuContext, c: SmokeCheck, kernel: string): Promise<SmokeResult> {
  const t0 = performance.now();
  // Record the modules this check compiles (pipeline() is the only way kernels get one).
  const compiled = new Set<string>();
  const original = ctx.pipeline;
  ctx.pipeline = (code, opts) => {
    compiled.add(code);
    return original.call(ctx, code, opts);
  };
  try {
    ctx.device.pushErrorScope('validation');
    let run: { got: Float32Array; want: Float64Array } | null = null;
    let thrown: unknown = null;
    try {
      run = await c.run(ctx, seeded(42));
    } catch (e) {
      thrown = e;
    }
    // Pop the scope whether or not the check threw, so scopes never leak onto the device.
    const err = await ctx.device.popErrorScope();
    if (err) throw new Error(err.message);
    if (thrown || !run) throw thrown;
    const { got, want } = run;
    let maxAbsErr = 0;
    let ok = got.length === want.length;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(got[i] - want[i]);
      if (!(d <= c.atol + c.rtol * Math.abs(want[i]))) ok = false;
      if (!(d <= maxAbsErr)) maxAbsErr = d;
    }
    const error = got.length === want.length ? undefined : `got ${got.length} values, want ${want.length}`;
    return { kernel, ok, maxAbsErr, tolerance: c.atol, ms: performance.now() - t0, error, shaders: filesIn(compiled) };
  } catch (e) {
    return { kernel, ok: false, maxAbsErr: NaN, tolerance: c.atol, ms: performance.now() - t0, error: String((e as Error)?.message ?? e), shaders: filesIn(compiled) };
  } finally {
    ctx.pipeline = original;
  }
}

/**
 * Runs every check once on `ctx`. Where the adapter has subgroups, the checks that compiled a
 * subgroup library (the reductions, the attention row reads) run again on a context without
 * them, so the workgroup libraries (what adapters without subgroups use) are checked on this
 * browser too. Checks that need shader-f16 run only where the device has it. The last row is
 * the shader coverage.
 */
export async function runKernelSmoke(ctx: GpuContext): Promise<SmokeResult[]> {
  const results: SmokeResult[] = [];
  for (const c of checks) {
    if (c.requires === 'f16' && !ctx.caps.f16) continue;
    results.push(await runCheck(ctx, c, c.kernel));
  }
  if (ctx.caps.subgroups) {
    const noSubgroups = new GpuContext(ctx.device, { ...ctx.caps, subgroups: false, subgroupSizes: null });
    for (const c of checks) {
      const first = results.find((r) => r.kernel === c.kernel);
      if (first?.shaders?.some((f) => shaderRequirement(f) === 'subgroups')) results.push(await runCheck(noSubgroups, c, `${c.kernel} [no subgroups]`));
    }
  }
  results.push(coverageRow(ctx, results));
  return results;
}

// lib/row_reads_subgroup serves only subgroups of one width dividing a row kernel's slots
// (attention.ts rowReads: the whole-row layout's 16 slots take every width the split ones do).
const ROW_READS_SUBGROUP = 'lib/row_reads_subgroup.wgsl';
const subgroupRowReads = (caps: GpuCaps) => rowReads(caps, rowLayout(64)).lib === WGSL_LIB.rowReadsSubgroup;

/** Whether some kernel compiles `file` on a device with `caps`. */
function deviceCompiles(caps: GpuCaps, file: string): boolean {
  const need = shaderRequirement(file);
  if (need === 'f16') return caps.f16;
  if (need === 'subgroups') return caps.subgroups && (file !== ROW_READS_SUBGROUP || subgroupRowReads(caps));
  return true;
}

/** Fails when a shader this device can compile was compiled by no check; names what the device cannot run. */
function coverageRow(ctx: GpuContext, results: SmokeResult[]): SmokeResult {
  const ran = new Set(results.flatMap((r) => r.shaders ?? []));
  const all = shaderFiles();
  const cannot = all.filter((f) => !deviceCompiles(ctx.caps, f));
  const missing = all.filter((f) => !ran.has(f) && !cannot.includes(f));
  const lacking = [
    !ctx.caps.f16 && 'shader-f16',
    !ctx.caps.subgroups && 'subgroups',
    ctx.caps.subgroups && !subgroupRowReads(ctx.caps) && 'subgroups of one width dividing 16',
  ].filter(Boolean).join(', ');
  return {
    kernel: `shader coverage: ${ran.size} of ${all.length} files${cannot.length ? ` (device lacks ${lacking}: ${cannot.join(', ')} not run)` : ''}`,
    ok: missing.length === 0,
    maxAbsErr: 0,
    tolerance: 0,
    ms: 0,
    error: missing.length ? `compiled by no check: ${missing.join(', ')}` : undefined,
    shaders: [...ran].sort(),
  };
}
