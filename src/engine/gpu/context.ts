// GpuContext: the engine's handle on a GPUDevice. It caches pipelines, allocates buffers,
// records dispatches with their small uniform parameter blocks, and reads results back.
// The engine never creates a device itself: the caller (browser worker, CLI, test) does.

export interface GpuCaps {
  /** shader-f16 was requested and granted: f16 storage/compute fast paths may be used. */
  f16: boolean;
  /** subgroups were requested and granted: subgroup reductions may be used. */
  subgroups: boolean;
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
  return {
    f16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups'),
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

const UNIFORM_SLOT = 256; // >= minUniformBufferOffsetAlignment on every adapter

/**
 * Records a sequence of dispatches into one command buffer. Each dispatch's parameter
 * block goes into a slot of a shared uniform arena written once at submit time, so a
 * whole training step is one submit with no per-dispatch buffer creation.
 */
export class Recorder {
  readonly encoder: GPUCommandEncoder;
  private uniformBytes: Uint8Array<ArrayBuffer>;
  private slots = 0;
  private pending: { pipeline: GPUComputePipeline; bindings: Binding[]; slot: number; uniformSize: number; groups: [number, number, number]; label?: string }[] = [];
  private flushed = false;

  constructor(private readonly ctx: GpuContext, label?: string) {
    this.encoder = ctx.device.createCommandEncoder({ label });
    this.uniformBytes = new Uint8Array(UNIFORM_SLOT * 64);
  }

  /**
   * Dispatch `pipeline` with storage `bindings` at @binding(0..n-1) (outputs first, then
   * inputs, per the kernel conventions) and `params` as the uniform at @binding(n).
   */
  dispatch(pipeline: GPUComputePipeline, bindings: Binding[], params: Params | null, groups: [number, number?, number?], label?: string): void {
    if (this.flushed) throw new Error('Recorder already submitted');
    const g: [number, number, number] = [groups[0], groups[1] ?? 1, groups[2] ?? 1];
    const max = this.ctx.caps.maxComputeWorkgroupsPerDimension;
    for (const d of g) {
      if (!Number.isInteger(d) || d < 0 || d > max) throw new Error(`dispatch ${label ?? pipeline.label}: workgroup count ${d} outside [0, ${max}]`);
    }
    if (g[0] * g[1] * g[2] === 0) return;
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
    }
    this.pending.push({ pipeline, bindings, slot, uniformSize, groups: g, label });
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.flushPasses();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  clear(buffer: GPUBuffer, offset = 0, size?: number): void {
    this.flushPasses();
    this.encoder.clearBuffer(buffer, offset, size);
  }

  /** Encodes the recorded dispatches since the last copy/clear into one compute pass. */
  private flushPasses(): void {
    if (this.pending.length === 0) return;
    const need = Math.max(UNIFORM_SLOT, this.slots * UNIFORM_SLOT);
    // Each flush gets its own uniform buffer: slots written before a copy must not be overwritten.
    const ubuf = this.slots > 0 ? this.ctx.device.createBuffer({ size: need, usage: 0x40 | 0x8 /* UNIFORM | COPY_DST */, label: 'params' }) : null;
    if (ubuf) {
      this.ctx.device.queue.writeBuffer(ubuf, 0, this.uniformBytes, 0, need);
      this.ctx.trackTransient(ubuf);
    }
    const pass = this.encoder.beginComputePass();
    for (const p of this.pending) {
      const entries: GPUBindGroupEntry[] = p.bindings.map((b, i) => ({ binding: i, resource: toResource(b) }));
      if (p.slot >= 0 && ubuf) entries.push({ binding: p.bindings.length, resource: { buffer: ubuf, offset: p.slot * UNIFORM_SLOT, size: p.uniformSize } });
      const bg = this.ctx.device.createBindGroup({ layout: p.pipeline.getBindGroupLayout(0), entries, label: p.label });
      pass.setPipeline(p.pipeline);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(p.groups[0], p.groups[1], p.groups[2]);
    }
    pass.end();
    this.pending = [];
    this.slots = 0;
  }

  /** Finishes and submits the command buffer. */
  submit(): void {
    this.flushPasses();
    this.flushed = true;
    this.ctx.device.queue.submit([this.encoder.finish()]);
    this.ctx.releaseTransientsAfterSubmit();
  }
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

  constructor(readonly device: GPUDevice, caps?: Partial<GpuCaps>) {
    this.caps = { ...capsOf(device), ...caps };
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
    const key = `${entryPoint}|${JSON.stringify(Object.entries(constants).sort())}`;
    let p = m.pipelines.get(key);
    if (!p) {
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module: m.module, entryPoint, constants }, label: opts.label });
      m.pipelines.set(key, p);
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
