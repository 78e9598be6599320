// LoRA parameters on the GPU: every adapted module's A [R, in] and B [out, R] packed into ONE
// flat f32 buffer (so AdamW and the global gradient norm are single passes), with matching
// flat buffers for the gradients and the two AdamW moments. Each tensor starts at a 256-byte
// boundary so it can be bound as a range (minStorageBufferOffsetAlignment ≤ 256 everywhere);
// the padding stays zero in params, grads and moments, so it never changes a norm or an update.
import type { Binding, GpuContext } from '../gpu/context';
import { LINEAR_MODULES, type LinearModule, type ModelConfig, linearShape } from './config';
import { Rng } from '../optim/rng';

/** The LoRA settings the engine needs (src/adapters' LoraConfig is a superset). */
export interface LoraSettings {
  r: number;
  alpha: number;
  dropout: number;
  targetModules: LinearModule[];
  useRslora: boolean;
  /** Adapt only these layers (PEFT layers_to_transform); null/undefined = all. */
  layersToTransform?: number[] | null;
}

/** The factor applied to B·A, PEFT's definition: alpha / r, or alpha / √r with rsLoRA. The one place of this rule. */
export function loraScalingOf(s: Pick<LoraSettings, 'r' | 'alpha' | 'useRslora'>): number {
  return s.useRslora ? s.alpha / Math.sqrt(s.r) : s.alpha / s.r;
}

/** Where one adapted module's tensors live in the flat buffers (offsets in f32 elements). */
export interface LoraSlot {
  layer: number;
  module: LinearModule;
  inFeatures: number;
  outFeatures: number;
  aOffset: number;
  bOffset: number;
}

export interface LoraLayout {
  R: number;
  /** f32 elements of each flat buffer, padding included. */
  totalFloats: number;
  /** Real parameters (no padding). */
  paramCount: number;
  slots: LoraSlot[];
}

const ALIGN_FLOATS = 64; // 256 bytes

export function slotKey(layer: number, module: LinearModule): string {
  return `${layer}.${module}`;
}

/** Pure layout of the flat LoRA buffers for a model and LoRA settings. */
export function planLoraLayout(cfg: Pick<ModelConfig, 'numLayers' | 'hiddenSize' | 'intermediateSize' | 'numHeads' | 'numKvHeads' | 'headDim'>, s: LoraSettings): LoraLayout {
  if (!Number.isSafeInteger(s.r) || s.r < 1) throw new Error(`LoRA rank must be a positive integer, got ${s.r}`);
  if (!(s.dropout >= 0 && s.dropout < 1)) throw new Error(`LoRA dropout must be in [0, 1), got ${s.dropout}`);
  if (s.targetModules.length === 0) throw new Error('LoRA needs at least one target module');
  for (const m of s.targetModules) if (!LINEAR_MODULES.includes(m)) throw new Error(`unknown LoRA target ${m} (supported: ${LINEAR_MODULES.join(', ')})`);
  const layers = s.layersToTransform ?? [...Array(cfg.numLayers).keys()];
  for (const l of layers) if (!Number.isInteger(l) || l < 0 || l >= cfg.numLayers) throw new Error(`layersToTransform has ${l}, the model has ${cfg.numLayers} layers`);
  const R = s.r;
  const slots: LoraSlot[] = [];
  let off = 0;
  let paramCount = 0;
  const align = (n: number) => Math.ceil(n / ALIGN_FLOATS) * ALIGN_FLOATS;
  for (const layer of [...new Set(layers)].sort((a, b) => a - b)) {
    // Stable module order (LINEAR_MODULES), whatever order the user listed them in.
    for (const module of LINEAR_MODULES) {
      if (!s.targetModules.includes(module)) continue;
      const { inFeatures, outFeatures } = linearShape(cfg as ModelConfig, module);
      const aOffset = off;
      off = align(off + R * inFeatures);
      const bOffset = off;
      off = align(off + outFeatures * R);
      paramCount += R * (inFeatures + outFeatures);
      slots.push({ layer, module, inFeatures, outFeatures, aOffset, bOffset });
    }
  }
  return { R, totalFloats: Math.max(off, ALIGN_FLOATS), paramCount, slots };
}

/**
 * PEFT's initial values in the flat layout: A ~ kaiming_uniform_(a=√5) = U(-1/√in, 1/√in)
 * (bound = √(6/((1+a²)·fan_in)) with fan_in = in), B = 0, padding 0.
 */
export function peftInitialValues(layout: LoraLayout, rng: Rng): Float32Array {
  const v = new Float32Array(layout.totalFloats);
  for (const s of layout.slots) {
    const bound = 1 / Math.sqrt(s.inFeatures);
    const n = layout.R * s.inFeatures;
    for (let i = 0; i < n; i++) v[s.aOffset + i] = (2 * rng.next() - 1) * bound;
  }
  return v;
}

export type LoraTensorKind = 'params' | 'grads';

/** GPU buffers of the LoRA parameters, their gradients and AdamW state. */
export class LoraParams {
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  readonly scaling: number;
  private readonly bySlot: Map<string, LoraSlot>;

  constructor(
    private readonly ctx: GpuContext,
    readonly layout: LoraLayout,
    readonly settings: LoraSettings,
    initial: Float32Array,
  ) {
    if (initial.length !== layout.totalFloats) throw new Error(`LoraParams: initial values have ${initial.length} floats, layout needs ${layout.totalFloats}`);
    const bytes = layout.totalFloats * 4;
    if (bytes > ctx.caps.maxStorageBufferBindingSize) {
      throw new Error(`LoRA parameters need ${bytes} bytes, over this device's storage binding limit ${ctx.caps.maxStorageBufferBindingSize}: lower the rank or the number of target modules`);
    }
    this.params = ctx.upload(initial, 'lora.params');
    this.grads = ctx.createBuffer(bytes, 'lora.grads');
    this.m = ctx.createBuffer(bytes, 'lora.adam_m');
    this.v = ctx.createBuffer(bytes, 'lora.adam_v');
    // createBuffer memory is zero-initialised by WebGPU.
    this.scaling = loraScalingOf(settings);
    this.bySlot = new Map(layout.slots.map((s) => [slotKey(s.layer, s.module), s]));
  }

  /** PEFT-initialised parameters (A random from `seed`, B zero). */
  static create(ctx: GpuContext, cfg: ModelConfig, settings: LoraSettings, seed: number): LoraParams {
    const layout = planLoraLayout(cfg, settings);
    return new LoraParams(ctx, layout, settings, peftInitialValues(layout, new Rng(seed)));
  }

  slot(layer: number, module: LinearModule): LoraSlot | undefined {
    return this.bySlot.get(slotKey(layer, module));
  }

  /** The A and B ranges of one module in the params or grads buffer. */
  bindings(kind: LoraTensorKind, slot: LoraSlot): { A: Binding; B: Binding } {
    const buffer = kind === 'params' ? this.params : this.grads;
    const R = this.layout.R;
    return {
      A: { buffer, offset: slot.aOffset * 4, size: R * slot.inFeatures * 4 },
      B: { buffer, offset: slot.bOffset * 4, size: slot.outFeatures * R * 4 },
    };
  }

  async readFlat(which: 'params' | 'grads' | 'm' | 'v'): Promise<Float32Array> {
    return this.ctx.readF32(this[which], this.layout.totalFloats);
  }

  writeFlat(which: 'params' | 'grads' | 'm' | 'v', data: Float32Array): void {
    if (data.length !== this.layout.totalFloats) throw new Error(`LoraParams.writeFlat: ${data.length} floats, layout has ${this.layout.totalFloats}`);
    this.ctx.write(this[which], data);
  }

  /** Per-module A/B copies out of a flat array (params or grads). */
  unpack(flat: Float32Array): Map<string, { slot: LoraSlot; A: Float32Array; B: Float32Array }> {
    const R = this.layout.R;
    const out = new Map<string, { slot: LoraSlot; A: Float32Array; B: Float32Array }>();
    for (const s of this.layout.slots) {
      out.set(slotKey(s.layer, s.module), {
        slot: s,
        A: flat.slice(s.aOffset, s.aOffset + R * s.inFeatures),
        B: flat.slice(s.bOffset, s.bOffset + s.outFeatures * R),
      });
    }
    return out;
  }

  /** Packs per-module A/B (keyed by slotKey) into the flat layout; every slot must be given. */
  pack(mods: ReadonlyMap<string, { A: ArrayLike<number>; B: ArrayLike<number> }>): Float32Array {
    const R = this.layout.R;
    const flat = new Float32Array(this.layout.totalFloats);
    for (const s of this.layout.slots) {
      const w = mods.get(slotKey(s.layer, s.module));
      if (!w) throw new Error(`LoraParams.pack: no weights for layer ${s.layer} ${s.module}`);
      if (w.A.length !== R * s.inFeatures || w.B.length !== s.outFeatures * R) throw new Error(`LoraParams.pack: layer ${s.layer} ${s.module} has A ${w.A.length}, B ${w.B.length} values; expected ${R * s.inFeatures}, ${s.outFeatures * R}`);
      flat.set(w.A, s.aOffset);
      flat.set(w.B, s.bOffset);
    }
    return flat;
  }

  destroy(): void {
    for (const b of [this.params, this.grads, this.m, this.v]) this.ctx.destroy(b);
  }
}
