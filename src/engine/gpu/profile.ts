// Per-kernel GPU profile from timestamp queries. While a TimestampProfiler is the context's
// timer, every dispatch runs in its own compute pass whose begin and end the GPU stamps;
// read() resolves the stamps and aggregateProfile (pure, unit-tested with synthetic stamps)
// sums them per kernel name with the launchers' FLOP and byte counts (KernelCost).
import type { DispatchTimer, GpuContext, KernelCost } from './context';

/** One timed dispatch: its kernel name, its cost, and the GPU's begin/end stamps in ns. */
export interface KernelSample {
  kernel: string;
  flops: number;
  bytes: number;
  startNs: number;
  endNs: number;
}

export interface KernelProfileRow {
  kernel: string;
  calls: number;
  totalMs: number;
  /** totalMs / the step's GPU span (first begin to last end). */
  share: number;
  /** null when the kernel has no FLOP count or took no measurable time. */
  gflops: number | null;
  gbps: number | null;
}

export interface KernelProfile {
  /** By total time, longest first. */
  rows: KernelProfileRow[];
  /** Sum of the kernels' times. */
  kernelMs: number;
  /** First begin to last end: kernels plus copies, pass changes and idle gaps. */
  spanMs: number;
  /** Samples without a usable pair of stamps (end before begin), left out of the sums. */
  dropped: number;
}

/** Sums samples per kernel name. Pure: the bench, the worker and the unit tests share it. */
export function aggregateProfile(samples: readonly KernelSample[]): KernelProfile {
  const ok = samples.filter((s) => Number.isFinite(s.startNs) && Number.isFinite(s.endNs) && s.endNs >= s.startNs);
  if (ok.length === 0) return { rows: [], kernelMs: 0, spanMs: 0, dropped: samples.length };
  let first = Infinity;
  let last = -Infinity;
  const by = new Map<string, { calls: number; ns: number; flops: number; bytes: number }>();
  for (const s of ok) {
    first = Math.min(first, s.startNs);
    last = Math.max(last, s.endNs);
    const a = by.get(s.kernel) ?? { calls: 0, ns: 0, flops: 0, bytes: 0 };
    a.calls++;
    a.ns += s.endNs - s.startNs;
    a.flops += s.flops;
    a.bytes += s.bytes;
    by.set(s.kernel, a);
  }
  const spanNs = last - first;
  // FLOP per ns is GFLOP/s; bytes per ns is GB/s.
  const rows = [...by].map(([kernel, a]) => ({
    kernel,
    calls: a.calls,
    totalMs: a.ns / 1e6,
    share: spanNs > 0 ? a.ns / spanNs : 0,
    gflops: a.ns > 0 && a.flops > 0 ? a.flops / a.ns : null,
    gbps: a.ns > 0 && a.bytes > 0 ? a.bytes / a.ns : null,
  }));
  rows.sort((a, b) => b.totalMs - a.totalMs || a.kernel.localeCompare(b.kernel));
  return { rows, kernelMs: rows.reduce((s, r) => s + r.totalMs, 0), spanMs: spanNs / 1e6, dropped: samples.length - ok.length };
}

/**
 * The GPU's idle time between consecutive pieces of work (steps, or the submissions of a step),
 * in ms: for each pair, the first begin of piece k+1 minus the last end of piece k. `ends[k]` is
 * how many samples pieces 0..k recorded (cumulative, in recording order). Samples without usable
 * stamps are ignored; a piece with none gives no gap on either side. Pure: the unit tests feed
 * it synthetic stamps.
 */
export function stepGaps(samples: readonly KernelSample[], ends: readonly number[]): number[] {
  const usable = (x: KernelSample) => Number.isFinite(x.startNs) && Number.isFinite(x.endNs) && x.endNs >= x.startNs;
  const steps = ends.map((end, k) => samples.slice(k === 0 ? 0 : ends[k - 1], end).filter(usable));
  const gaps: number[] = [];
  for (let k = 0; k + 1 < steps.length; k++) {
    const [a, b] = [steps[k], steps[k + 1]];
    if (a.length === 0 || b.length === 0) continue;
    const lastEnd = Math.max(...a.map((x) => x.endNs));
    const firstBegin = Math.min(...b.map((x) => x.startNs));
    gaps.push((firstBegin - lastEnd) / 1e6);
  }
  return gaps;
}

const QUERIES_PER_SET = 4096; // the most a GPUQuerySet may hold

/** Hands out timestamp slots (two per dispatch) across as many query sets as a step needs. */
export class TimestampProfiler implements DispatchTimer {
  private readonly sets: GPUQuerySet[] = [];
  private readonly entries: { kernel: string; cost: KernelCost }[] = [];

  constructor(private readonly ctx: GpuContext) {
    if (!ctx.caps.timestamps) throw new Error('TimestampProfiler: this device has no timestamp-query feature');
  }

  /** Dispatches timed so far (where one step's samples end, for stepGaps). */
  get count(): number {
    return this.entries.length;
  }

  timestampWrites(label: string, cost: KernelCost): GPUComputePassTimestampWrites {
    const q = this.entries.length * 2;
    this.entries.push({ kernel: label, cost });
    const set = Math.floor(q / QUERIES_PER_SET);
    if (set === this.sets.length) this.sets.push(this.ctx.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET, label: 'profile' }));
    const i = q % QUERIES_PER_SET;
    return { querySet: this.sets[set], beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 };
  }

  /** Resolves every stamp written so far (after the profiled work was submitted). */
  async read(): Promise<KernelSample[]> {
    const { device } = this.ctx;
    const total = this.entries.length * 2;
    if (total === 0) return [];
    const resolve = device.createBuffer({ size: total * 8, usage: 0x200 | 0x4 /* QUERY_RESOLVE | COPY_SRC */, label: 'profile resolve' });
    const staging = device.createBuffer({ size: total * 8, usage: 0x1 | 0x8 /* MAP_READ | COPY_DST */, label: 'profile staging' });
    const enc = device.createCommandEncoder({ label: 'profile resolve' });
    this.sets.forEach((set, k) => {
      const n = Math.min(QUERIES_PER_SET, total - k * QUERIES_PER_SET);
      enc.resolveQuerySet(set, 0, n, resolve, k * QUERIES_PER_SET * 8);
    });
    enc.copyBufferToBuffer(resolve, 0, staging, 0, total * 8);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(0x1 /* READ */);
    const stamps = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    resolve.destroy();
    // ns since an arbitrary origin: relative to the first stamp, they fit a double exactly.
    // A stamp left at 0 was never written (NaN: aggregateProfile drops that sample).
    let origin = 0n;
    for (const t of stamps) if (t !== 0n && (origin === 0n || t < origin)) origin = t;
    const ns = (t: bigint) => (t === 0n ? NaN : Number(t - origin));
    return this.entries.map((e, i) => ({ kernel: e.kernel, flops: e.cost.flops, bytes: e.cost.bytes, startNs: ns(stamps[2 * i]), endNs: ns(stamps[2 * i + 1]) }));
  }

  destroy(): void {
    for (const s of this.sets) s.destroy();
    this.sets.length = 0;
  }
}
