// GpuContext: the engine's handle on a GPUDevice. It caches pipelines, allocates buffers,
// records dispatches with their small uniform parameter blocks, and reads results back.
// The engine never creates a device itself: the caller (browser worker, CLI, test) does.

export interface GpuCaps {
  /** shader-f16 was requested and granted: f16 storage/compute fast paths may be used. */
  f16: boolean;
  /** subgroups were requested and granted: subgroup reductions (and row reads, with subgroupSizes) may be used. */
  subgroups: boolean;
  /**
   * The smallest and largest subgroup the device may run, where subgroups were granted and the
   * device reports them (GPUAdapterInfo.subgroupMinSize/MaxSize), else null.
   */
  subgroupSizes: { min: number; max: number } | null;
  /** timestamp-query was granted: kernels can be timed on the GPU. */
  timestamps: boolean;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupsPerDimension: number;
  minUniformBufferOffsetAlignment: number;
  minStorageBufferOffsetAlignment: number;
}

export function capsOf(device: GPUDevice): GpuCaps {
  const l = device.limits;
  const subgroups = device.features.has('subgroups');
  // adapterInfo is missing on older browsers, the sizes on older implementations.
  const info = (device as Partial<GPUDevice>).adapterInfo;
  const min = info?.subgroupMinSize;
  const max = info?.subgroupMaxSize;
  return {
    f16: device.features.has('shader-f16'),
    subgroups,
    subgroupSizes: subgroups && min && max ? { min, max } : null,
    timestamps: device.features.has('timestamp-query'),
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    minUniformBufferOffsetAlignment: l.minUniformBufferOffsetAlignment,
    minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
  };
}

/**
 * What one dispatch computes and moves, from its launcher's shapes: the profile's GFLOP/s and
 * GB/s. bytes counts each tensor read or written once (the minimum traffic), so GB/s is a
 * lower bound on the memory bandwidth a kernel really used.
 */
export interface KernelCost {
  flops: number;
  bytes: number;
}

/**
 * Times dispatches on the GPU (profile.ts): while one is set on the context, every dispatch
 * is encoded in a compute pass of its own with these timestamp writes.
 */
export interface DispatchTimer {
  timestampWrites(label: string, cost: KernelCost): GPUComputePassTimestampWrites;
}

/** A storage binding: a whole buffer, or a byte range of one (for tensors split in ranges). */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST (literal: Node has no GPUBufferUsage global until set)

/** Builds the bytes of a WGSL uniform struct made only of 4-byte scalars, in field order. */
export class Params {
  private readonly view: DataView;
  private readonly bytes: ArrayBuffer;
  private n = 0;
  constructor(maxFields = 64) {
    this.bytes = new ArrayBuffer(maxFields * 4);
    this.view = new DataView(this.bytes);
  }
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`Params.u32: ${v} is not a u32`);
    this.view.setUint32(this.n * 4, v, true);
    this.n++;
    return this;
  }
  i32(v: number): this {
    this.view.setInt32(this.n * 4, v, true);
    this.n++;
    return this;
  }
  f32(v: number): this {
    this.view.setFloat32(this.n * 4, v, true);
    this.n++;
    return this;
  }
  /** The struct bytes, padded to 16 bytes (uniform structs round up to 16). */
  data(): Uint8Array {
    const len = Math.max(16, Math.ceil((this.n * 4) / 16) * 16);
    return new Uint8Array(this.bytes, 0, len);
  }
}

export interface PipelineOptions {
  entryPoint?: string;
  /** WGSL `override` constants (workgroup and tile sizes). */
  constants?: Record<string, number>;
  label?: string;
}

/** A pipeline GpuContext.pipeline compiled (GpuContext.compiledPipelines). */
export interface CompiledPipeline {
  label: string;
  entryPoint: string;
  constants: Record<string, number>;
}

const UNIFORM_SLOT = 256; // >= minUniformBufferOffsetAlignment on every adapter
const ARENA_SLOTS = 256; // a new uniform arena's slots (it doubles as needed, once)
const MAX_CACHED_BIND_GROUPS = 1 << 16;

/** A persistent uniform arena, held by one open recorder at a time. */
interface UniformArena {
  buffer: GPUBuffer;
  busy: boolean;
}

/** One encoder command of a tape: a dispatch with its bind group, or a copy/clear (which ends a pass). */
type TapeOp =
  | { kind: 'dispatch'; pipeline: GPUComputePipeline; bg: GPUBindGroup; groups: [number, number, number] }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }
  | { kind: 'clear'; buffer: GPUBuffer; offset: number; size?: number };

/**
 * The values a recording depends on that change from one recording of the same tape to the
 * next (a training step's dropout seed, loss scale, lr): Recorder.values.
 */
export type StepValues = Readonly<Record<string, number>>;

/** A launcher's scalar argument: fixed, or a step value read from the recorder's values (a replay re-packs it). */
export type Live = number | ((v: StepValues) => number);

const NO_VALUES: StepValues = {};

/** x's value under `v`. */
export function liveValue(x: Live, v: StepValues = NO_VALUES): number {
  return typeof x === 'number' ? x : x(v);
}

/** f(x), a step value when x is one. */
export function mapLive(x: Live, f: (x: number) => number): Live {
  return typeof x === 'number' ? f(x) : (v) => f(x(v));
}

/** A dispatch's parameters: packed now, or (when they read step values) packed per recording. */
export type DispatchParams = Params | ((v: StepValues) => Params);

/** `pack` itself when any of `inputs` is a step value (a replay re-packs it), else its Params now. */
export function packLive(pack: (v: StepValues) => Params, ...inputs: (Live | undefined)[]): DispatchParams {
  return inputs.some((x) => typeof x === 'function') ? pack : pack(NO_VALUES);
}

/**
 * A recording captured for replay (Recorder.replayOr): its encoder commands in order, its
 * uniform bytes, and the dispatches whose parameters depend on the recorder's values.
 * Valid while the arena buffer and every bound buffer it was captured with are alive
 * (ctx.bindingEpoch unchanged).
 */
export interface Tape {
  readonly ops: TapeOp[];
  /** The dispatches whose parameters read step values: their slot, re-packed by each replay. */
  readonly lives: { slot: number; pack: (v: StepValues) => Params }[];
  bytes: Uint8Array<ArrayBuffer>;
  arena: GPUBuffer;
  epoch: number;
  dispatches: number;
}

/** Tapes by key, held by whoever records the same thing again (a trainer, per step shape). */
export type TapeStore = Map<string, Tape>;

/**
 * Records a sequence of dispatches into one command buffer. Each dispatch's parameter
 * block goes into a 256-byte slot of a uniform arena, written with one writeBuffer per
 * compute pass, so a whole training step is one submit with no per-dispatch buffer creation.
 *
 * With ctx.cacheBindings (the default) the arena is a persistent buffer of the context and
 * the slots are numbered through the whole recording, so a dispatch's bind group depends only
 * on (pipeline, buffers, slot): recording the same graph again (the next training step) reuses
 * every bind group, while the per-step scalars (seed, lr, loss scale) still change through the
 * arena's bytes. Without it (the old path, kept to measure against) each pass gets a new
 * uniform buffer and each dispatch a new bind group.
 *
 * Replay (replayOr, with ctx.replayTapes): a recording that repeats (a training step) is
 * captured once as a Tape, and later recordings only re-pack the parameters that read the
 * recorder's `values` (launchers given Live arguments: a step's seed, loss scale, lr) and
 * encode the tape's commands, without running the launchers or looking up bind groups.
 */
export class Recorder {
  readonly encoder: GPUCommandEncoder;
  private uniformBytes: Uint8Array<ArrayBuffer>;
  private slots = 0;
  /** First slot not yet written to the GPU (cached path: slots run through the whole recording). */
  private written = 0;
  private pending: { pipeline: GPUComputePipeline; bindings: Binding[]; slot: number; uniformSize: number; groups: [number, number, number]; label: string; cost: KernelCost }[] = [];
  private flushed = false;
  private readonly arena: UniformArena | null;
  /** Arena buffers outgrown during this recording: earlier passes still use them until submit. */
  private readonly retired: GPUBuffer[] = [];
  /** What this recording depends on that changes between recordings of the same tape (Live arguments read it). */
  values: StepValues = NO_VALUES;
  /** The tape being captured (replayOr's recording path), stored under its key at finish. */
  private capture: { tape: Tape; store: TapeStore; key: string } | null = null;

  constructor(private readonly ctx: GpuContext, label?: string) {
    this.encoder = ctx.device.createCommandEncoder({ label });
    this.uniformBytes = new Uint8Array(UNIFORM_SLOT * 64);
    this.arena = ctx.cacheBindings ? ctx.acquireArena() : null;
  }

  /**
   * Dispatch `pipeline` with storage `bindings` at @binding(0..n-1) (outputs first, then
   * inputs, per the kernel conventions) and `params` as the uniform at @binding(n). `cost`
   * is the launcher's FLOP and byte count, its cost model kept next to the launcher (only a
   * profiled step reads it).
   */
  dispatch(pipeline: GPUComputePipeline, bindings: Binding[], dparams: DispatchParams | null, groups: [number, number?, number?], label: string, cost: KernelCost): void {
    if (this.flushed) throw new Error('Recorder already submitted');
    const g: [number, number, number] = [groups[0], groups[1] ?? 1, groups[2] ?? 1];
    const max = this.ctx.caps.maxComputeWorkgroupsPerDimension;
    for (const d of g) {
      if (!Number.isInteger(d) || d < 0 || d > max) throw new Error(`dispatch ${label ?? pipeline.label}: workgroup count ${d} outside [0, ${max}]`);
    }
    if (g[0] * g[1] * g[2] === 0) return;
    this.ctx.dispatches++;
    const params = typeof dparams === 'function' ? dparams(this.values) : dparams;
    let slot = -1;
    let uniformSize = 0;
    if (params) {
      const bytes = params.data();
      if (bytes.byteLength > UNIFORM_SLOT) throw new Error('Params block larger than 256 bytes');
      slot = this.slots++;
      if ((slot + 1) * UNIFORM_SLOT > this.uniformBytes.byteLength) {
        const grown = new Uint8Array(this.uniformBytes.byteLength * 2);
        grown.set(this.uniformBytes);
        this.uniformBytes = grown;
      }
      this.uniformBytes.set(bytes, slot * UNIFORM_SLOT);
      uniformSize = bytes.byteLength;
      if (typeof dparams === 'function') this.capture?.tape.lives.push({ slot, pack: dparams });
    }
    this.pending.push({ pipeline, bindings, slot, uniformSize, groups: g, label, cost });
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.flushPasses();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
    this.capture?.tape.ops.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
  }

  clear(buffer: GPUBuffer, offset = 0, size?: number): void {
    this.flushPasses();
    this.encoder.clearBuffer(buffer, offset, size);
    this.capture?.tape.ops.push({ kind: 'clear', buffer, offset, size });
  }

  /**
   * Replays the tape `store` holds for `key` with these `values`, or (none, or no longer
   * valid) records `body` into this recorder and captures it under `key` for next time.
   * The recording must depend on the values only through Live launcher arguments, and on
   * nothing else that the key does not name. Profiled steps and the uncached path always record.
   */
  replayOr(store: TapeStore, key: string, values: StepValues, body: () => void): void {
    if (this.flushed || this.pending.length > 0 || this.slots > 0 || this.capture) throw new Error('Recorder.replayOr must come first in a recording');
    this.values = values;
    const { ctx } = this;
    if (!this.arena || !ctx.replayTapes || ctx.timer) return body();
    const tape = store.get(key);
    if (tape && this.replay(tape)) return;
    store.delete(key);
    const t: Tape = { ops: [], lives: [], bytes: new Uint8Array(0), arena: this.arena.buffer, epoch: ctx.bindingEpoch, dispatches: ctx.dispatches };
    this.capture = { tape: t, store, key };
    body();
  }

  /** Re-packs the tape's live parameters with this.values, writes them and encodes its commands; false if it is stale. */
  private replay(tape: Tape): boolean {
    const { ctx } = this;
    if (tape.epoch !== ctx.bindingEpoch || tape.arena !== this.arena?.buffer) return false;
    for (const { slot, pack } of tape.lives) {
      const bytes = pack(this.values).data();
      tape.bytes.fill(0, slot * UNIFORM_SLOT, (slot + 1) * UNIFORM_SLOT);
      tape.bytes.set(bytes, slot * UNIFORM_SLOT);
    }
    ctx.device.queue.writeBuffer(tape.arena, 0, tape.bytes, 0, tape.bytes.byteLength);
    let pass: GPUComputePassEncoder | null = null;
    let last: GPUComputePipeline | null = null;
    for (const op of tape.ops) {
      if (op.kind === 'dispatch') {
        pass ??= this.encoder.beginComputePass();
        if (op.pipeline !== last) pass.setPipeline(op.pipeline);
        last = op.pipeline;
        pass.setBindGroup(0, op.bg);
        pass.dispatchWorkgroups(op.groups[0], op.groups[1], op.groups[2]);
        continue;
      }
      pass?.end();
      pass = null;
      last = null;
      if (op.kind === 'copy') this.encoder.copyBufferToBuffer(op.src, op.srcOffset, op.dst, op.dstOffset, op.size);
      else this.encoder.clearBuffer(op.buffer, op.offset, op.size);
    }
    pass?.end();
    ctx.dispatches += tape.dispatches;
    ctx.tapesReplayed++;
    return true;
  }

  /** The uniform buffer for the pending dispatches' slots, with those slots written. */
  private uniformsForPass(): GPUBuffer | null {
    const { device } = this.ctx;
    if (!this.arena) {
      // Old path: each flush gets its own uniform buffer (slots written before a copy must not be overwritten).
      if (this.slots === 0) return null;
      const need = this.slots * UNIFORM_SLOT;
      const ubuf = device.createBuffer({ size: need, usage: 0x40 | 0x8 /* UNIFORM | COPY_DST */, label: 'params' });
      device.queue.writeBuffer(ubuf, 0, this.uniformBytes, 0, need);
      this.ctx.trackTransient(ubuf);
      this.slots = 0;
      return ubuf;
    }
    if (this.slots === this.written) return this.arena.buffer;
    const need = this.slots * UNIFORM_SLOT;
    if (need > this.arena.buffer.size) {
      // Earlier passes of this recording still read the old buffer: it goes at submit. The
      // new one keeps slot numbers (its low slots unused here), so later recordings fit at once.
      this.retired.push(this.arena.buffer);
      this.arena.buffer = this.ctx.createArenaBuffer(2 ** Math.ceil(Math.log2(need)));
    }
    // Queue-ordered: this write lands after earlier submits (which read the old bytes) and before ours.
    const from = this.written * UNIFORM_SLOT;
    device.queue.writeBuffer(this.arena.buffer, from, this.uniformBytes, from, need - from);
    this.written = this.slots;
    return this.arena.buffer;
  }

  /** Encodes the recorded dispatches since the last copy/clear into one compute pass. */
  private flushPasses(): void {
    if (this.pending.length === 0) return;
    const ubuf = this.uniformsForPass();
    // Profiled: a pass per dispatch, since timestamps are written at pass boundaries only.
    const timer = this.ctx.timer;
    let pass: GPUComputePassEncoder | null = null;
    let last: GPUComputePipeline | null = null;
    for (const p of this.pending) {
      const uniform = p.slot >= 0 && ubuf ? { buffer: ubuf, offset: p.slot * UNIFORM_SLOT, size: p.uniformSize } : null;
      const bg = this.arena ? this.ctx.cachedBindGroup(p.pipeline, p.bindings, uniform, p.label) : this.ctx.newBindGroup(p.pipeline, p.bindings, uniform, p.label);
      if (timer) {
        pass?.end();
        pass = this.encoder.beginComputePass({ timestampWrites: timer.timestampWrites(p.label, p.cost) });
        last = null;
      }
      pass ??= this.encoder.beginComputePass();
      if (p.pipeline !== last) pass.setPipeline(p.pipeline); // each native call costs µs of host time
      last = p.pipeline;
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(p.groups[0], p.groups[1], p.groups[2]);
      this.capture?.tape.ops.push({ kind: 'dispatch', pipeline: p.pipeline, bg, groups: p.groups });
    }
    pass?.end();
    this.pending = [];
  }

  /**
   * Finishes the command buffer without submitting it (the bench times recording with it).
   * Its uniforms live in an arena the next recorder may rewrite: submit it before finishing
   * another recorder, or drop it.
   */
  finish(): GPUCommandBuffer {
    this.flushPasses();
    this.flushed = true;
    const c = this.capture;
    // Kept only if every bind group it holds is still cached and the arena did not grow.
    if (c && this.arena && this.retired.length === 0 && c.tape.arena === this.arena.buffer && c.tape.epoch === this.ctx.bindingEpoch) {
      c.tape.bytes = this.uniformBytes.slice(0, this.slots * UNIFORM_SLOT);
      c.tape.dispatches = this.ctx.dispatches - c.tape.dispatches;
      c.store.set(c.key, c.tape);
    }
    this.capture = null;
    if (this.arena) this.ctx.releaseArena(this.arena);
    return this.encoder.finish();
  }

  /** Finishes and submits the command buffer. */
  submit(): void {
    this.ctx.device.queue.submit([this.finish()]);
    for (const b of this.retired) this.ctx.destroy(b);
    this.ctx.releaseTransientsAfterSubmit();
  }
}

/** A Binding's byte range with its defaults filled in: a whole buffer, or offset 0 / to the buffer's end. */
export interface BufferSpan {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

export function bindingSpan(b: Binding): BufferSpan {
  if ('mapState' in b) return { buffer: b, offset: 0, size: b.size };
  const offset = b.offset ?? 0;
  return { buffer: b.buffer, offset, size: b.size ?? b.buffer.size - offset };
}

function toResource(b: Binding): GPUBufferBinding {
  if ('mapState' in b) return { buffer: b };
  return { buffer: b.buffer, offset: b.offset ?? 0, size: b.size };
}

/** Bytes createBuffer really allocates for a request: rounded up to 16, at least 16. */
export function allocationSize(byteSize: number): number {
  return Math.max(16, Math.ceil(byteSize / 16) * 16);
}

export class GpuContext {
  readonly caps: GpuCaps;
  // By source, then by entry point and constants. Sources are long but come from a few
  // stable strings (imports, composeShader's memo), whose hashes the engine caches: a lookup
  // per dispatch never rebuilds or rehashes a key containing the source.
  private readonly modules = new Map<string, { module: GPUShaderModule; pipelines: Map<string, GPUComputePipeline> }>();
  private transients: GPUBuffer[] = [];
  /** Bytes currently allocated through createBuffer/upload, and the high-water mark. */
  allocatedBytes = 0;
  peakBytes = 0;
  private readonly sizes = new WeakMap<GPUBuffer, number>();
  /**
   * Reuse bind groups across recordings (see Recorder). false = the old path, a bind group and
   * a uniform buffer per dispatch/pass; kept so the bench measures both in one run.
   */
  cacheBindings = true;
  /**
   * Replay captured tapes (Recorder.replayOr; needs cacheBindings). false = record every time
   * (tests compare both paths).
   */
  replayTapes = true;
  /** Recordings replayed from a tape so far (tests check the replay path did run). */
  tapesReplayed = 0;
  /**
   * Bumped whenever cached bind groups are dropped (a bound buffer destroyed, the cache
   * cleared): a tape captured before holds bind groups that may bind a dead buffer.
   */
  bindingEpoch = 0;
  /** Dispatches recorded so far (the bench's dispatches per step). */
  dispatches = 0;
  /** Set while a step is profiled (profile.ts); null otherwise. */
  timer: DispatchTimer | null = null;
  /**
   * Every compute pipeline this context created, in order: each is a shader compile, which
   * on a software adapter (SwiftShader) costs about a second, so tests keep their number down.
   */
  readonly compiledPipelines: CompiledPipeline[] = [];
  private readonly arenas: UniformArena[] = [];
  // Bind groups by pipeline + the exact (buffer, offset, size) of every binding. Objects get
  // numeric ids: a reallocated buffer is a new object, so a stale entry can never match it.
  private readonly bindGroups = new Map<string, { bg: GPUBindGroup; ids: number[] }>();
  private readonly keysByBuffer = new Map<number, Set<string>>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  private readonly layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();

  constructor(readonly device: GPUDevice, caps?: Partial<GpuCaps>) {
    this.caps = { ...capsOf(device), ...caps };
  }

  /** Bind groups held by the cache (tests check reuse and eviction with it). */
  get cachedBindGroups(): number {
    return this.bindGroups.size;
  }

  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(o, id);
    }
    return id;
  }

  private layoutOf(pipeline: GPUComputePipeline): GPUBindGroupLayout {
    let l = this.layouts.get(pipeline);
    if (!l) {
      l = pipeline.getBindGroupLayout(0);
      this.layouts.set(pipeline, l);
    }
    return l;
  }

  /** A new bind group: storage `bindings` at 0..n-1, then `uniform` (if any) at n. */
  newBindGroup(pipeline: GPUComputePipeline, bindings: readonly Binding[], uniform: GPUBufferBinding | null, label?: string): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = bindings.map((b, i) => ({ binding: i, resource: toResource(b) }));
    if (uniform) entries.push({ binding: bindings.length, resource: uniform });
    return this.device.createBindGroup({ layout: this.layoutOf(pipeline), entries, label });
  }

  /** newBindGroup, made once per exact (pipeline, buffers, offsets, sizes) and reused. */
  cachedBindGroup(pipeline: GPUComputePipeline, bindings: readonly Binding[], uniform: GPUBufferBinding | null, label?: string): GPUBindGroup {
    const ids: number[] = [];
    let key = String(this.idOf(pipeline));
    for (const b of bindings) {
      const buffer = 'mapState' in b ? b : b.buffer;
      const id = this.idOf(buffer);
      ids.push(id);
      key += 'mapState' in b ? `,${id}` : `,${id}:${b.offset ?? 0}:${b.size ?? -1}`;
    }
    if (uniform) {
      const id = this.idOf(uniform.buffer);
      ids.push(id);
      key += `|${id}:${uniform.offset ?? 0}:${uniform.size ?? -1}`;
    }
    const hit = this.bindGroups.get(key);
    if (hit) return hit.bg;
    // A bound on what eviction by destroy() misses (buffers destroyed directly): start over.
    if (this.bindGroups.size >= MAX_CACHED_BIND_GROUPS) this.clearBindGroups();
    const bg = this.newBindGroup(pipeline, bindings, uniform, label);
    this.bindGroups.set(key, { bg, ids });
    for (const id of ids) {
      const keys = this.keysByBuffer.get(id);
      if (keys) keys.add(key);
      else this.keysByBuffer.set(id, new Set([key]));
    }
    return bg;
  }

  clearBindGroups(): void {
    this.bindingEpoch++;
    this.bindGroups.clear();
    this.keysByBuffer.clear();
  }

  /** Drops the cached bind groups that bind `b` (it is being destroyed). */
  private evictBindGroups(b: GPUBuffer): void {
    const id = this.ids.get(b);
    if (id === undefined) return;
    if (this.keysByBuffer.has(id)) this.bindingEpoch++;
    for (const key of this.keysByBuffer.get(id) ?? []) {
      // Also out of the other buffers' lists, so long-lived buffers (weights) keep no dead keys.
      for (const other of this.bindGroups.get(key)?.ids ?? []) if (other !== id) this.keysByBuffer.get(other)?.delete(key);
      this.bindGroups.delete(key);
    }
    this.keysByBuffer.delete(id);
  }

  /** A uniform arena no open recorder holds (recorders open one after another share the first). */
  acquireArena(): UniformArena {
    let a = this.arenas.find((x) => !x.busy);
    if (!a) {
      a = { buffer: this.createArenaBuffer(ARENA_SLOTS * UNIFORM_SLOT), busy: false };
      this.arenas.push(a);
    }
    a.busy = true;
    return a;
  }

  releaseArena(a: UniformArena): void {
    a.busy = false;
  }

  createArenaBuffer(size: number): GPUBuffer {
    return this.device.createBuffer({ size, usage: 0x40 | 0x8 /* UNIFORM | COPY_DST */, label: 'params arena' });
  }

  /** A compute pipeline for `code`, cached by source, entry point and override constants. */
  pipeline(code: string, opts: PipelineOptions = {}): GPUComputePipeline {
    const entryPoint = opts.entryPoint ?? 'main';
    const constants = opts.constants ?? {};
    let m = this.modules.get(code);
    if (!m) {
      m = { module: this.device.createShaderModule({ code, label: opts.label }), pipelines: new Map() };
      this.modules.set(code, m);
    }
    // Built by hand, not JSON.stringify: this runs per dispatch. Insertion order: the same
    // constants listed in another order only cost one more (identical) pipeline.
    let key = entryPoint;
    for (const k in constants) key += `|${k}=${constants[k]}`;
    let p = m.pipelines.get(key);
    if (!p) {
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module: m.module, entryPoint, constants }, label: opts.label });
      m.pipelines.set(key, p);
      this.compiledPipelines.push({ label: opts.label ?? '', entryPoint, constants: { ...constants } });
    }
    return p;
  }

  recorder(label?: string): Recorder {
    return new Recorder(this, label);
  }

  createBuffer(byteSize: number, label?: string, usage: number = STORAGE): GPUBuffer {
    const size = allocationSize(byteSize);
    if (size > this.caps.maxBufferSize) throw new Error(`buffer ${label ?? ''} of ${size} bytes exceeds maxBufferSize ${this.caps.maxBufferSize}`);
    const b = this.device.createBuffer({ size, usage, label });
    this.sizes.set(b, size);
    this.allocatedBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.allocatedBytes);
    return b;
  }

  destroy(b: GPUBuffer): void {
    const s = this.sizes.get(b);
    if (s !== undefined) {
      this.allocatedBytes -= s;
      this.sizes.delete(b);
    }
    this.evictBindGroups(b);
    b.destroy();
  }

  /** A new storage buffer holding `data`. */
  upload(data: ArrayBufferView, label?: string): GPUBuffer {
    const b = this.createBuffer(data.byteLength, label);
    this.write(b, data);
    return b;
  }

  write(b: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    // writeBuffer needs a multiple of 4 bytes.
    const len = Math.ceil(data.byteLength / 4) * 4;
    if (len === data.byteLength) {
      this.device.queue.writeBuffer(b, byteOffset, data.buffer, data.byteOffset, data.byteLength);
    } else {
      const padded = new Uint8Array(len);
      padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.device.queue.writeBuffer(b, byteOffset, padded);
    }
  }

  /** Copies `byteSize` bytes of `b` from `byteOffset` back to the CPU. */
  async read(b: GPUBuffer, byteSize?: number, byteOffset = 0): Promise<ArrayBuffer> {
    const size = byteSize ?? b.size - byteOffset;
    const staging = this.device.createBuffer({ size: Math.ceil(size / 4) * 4, usage: 0x1 | 0x8 /* MAP_READ | COPY_DST */ });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(b, byteOffset, staging, 0, Math.ceil(size / 4) * 4);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(0x1 /* READ */);
    const out = staging.getMappedRange().slice(0, size);
    staging.unmap();
    staging.destroy();
    return out;
  }

  async readF32(b: GPUBuffer, count?: number, elemOffset = 0): Promise<Float32Array> {
    const n = count ?? (b.size / 4 - elemOffset);
    return new Float32Array(await this.read(b, n * 4, elemOffset * 4));
  }

  trackTransient(b: GPUBuffer): void {
    this.transients.push(b);
  }

  releaseTransientsAfterSubmit(): void {
    // Destroying a buffer after submit is safe: WebGPU keeps it alive until the queued work that uses it completes.
    for (const b of this.transients) b.destroy();
    this.transients = [];
  }

  /** Resolves when all submitted work has finished. */
  async sync(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
  }
}
