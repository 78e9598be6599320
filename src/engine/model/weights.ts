// Frozen base weights on the GPU, uploaded tensor by tensor from a safetensors store (one
// tensor in CPU memory at a time; never the whole model in one ArrayBuffer). Linear weights
// and the embedding/LM head go in f32, or f16 where the device has shader-f16 and the caller
// asks for it (half the memory, the kernels accumulate in f32); norms and biases stay f32.
import { type GpuContext, allocationSize } from '../gpu/context';
import type { Weight } from '../gpu/kernels/matmul';
import { type LinearModule, type ModelConfig, LINEAR_MODULES, checkTensorShapes, expectedTensors, linearWeightName, qkNormName } from './config';
import { float32ToF16Bits, type FloatDtype } from './dtype';
import type { FloatTensorSource } from './safetensors';

export type WeightStorage = 'f32' | 'f16';

export interface LayerWeights {
  inputNorm: GPUBuffer;
  postNorm: GPUBuffer;
  linear: Record<LinearModule, Weight>;
  /** q/k/v biases (qwen2), else null. */
  bias: { q_proj: GPUBuffer; k_proj: GPUBuffer; v_proj: GPUBuffer } | null;
  /** Per-head q/k RMSNorm weights [D] (qwen3), else null. */
  qkNorm: { q: GPUBuffer; k: GPUBuffer } | null;
}

export interface ModelWeights {
  storage: WeightStorage;
  /** [V, C] */
  embed: Weight;
  layers: LayerWeights[];
  /** [C] */
  norm: GPUBuffer;
  /** [V, C]: the embedding itself when tied. */
  lmHead: Weight;
  /** GPU bytes of all weights. */
  bytes: number;
}

export interface UploadOptions {
  /** 'auto' = f16 when ctx.caps.f16, else f32. Default 'f32'. */
  storage?: WeightStorage | 'auto';
  onProgress?: (done: number, total: number, name: string) => void;
}

export interface StorageChoice {
  storage: WeightStorage;
  /** Why, in a few words (what 'auto' saw and what f16 costs), for the user. */
  reason: string;
}

/**
 * The one place 'auto' is decided: f16 where the adapter has shader-f16 (half the weight memory),
 * else f32; f16 is refused where the adapter lacks it. `modelDtype` only sharpens the reason.
 */
export function chooseWeightStorage(requested: WeightStorage | 'auto' | undefined, hasF16: boolean, modelDtype?: FloatDtype): StorageChoice {
  if (requested === 'f16' && !hasF16) throw new Error('f16 weights need the shader-f16 feature, which this device lacks');
  if (requested !== 'auto') return { storage: requested ?? 'f32', reason: requested ? 'as requested' : 'the default' };
  if (!hasF16) return { storage: 'f32', reason: 'auto: this adapter has no shader-f16' };
  const cost =
    modelDtype === 'F16' ? 'the model is already float16, so nothing is rounded'
    : modelDtype === 'BF16' ? 'f16 holds bfloat16 weights exactly except magnitudes under 6e-5 or over 65504'
    : 'f16 storage of an f32 model changes probabilities by ~1e-3';
  return { storage: 'f16', reason: `auto: this adapter has shader-f16; half the weight memory; ${cost}` };
}

/** Resolves 'auto' and refuses f16 where the device lacks it. */
export function resolveStorage(ctx: GpuContext, s: WeightStorage | 'auto' | undefined): WeightStorage {
  return chooseWeightStorage(s, ctx.caps.f16).storage;
}

/** Matrices (embedding, linears, LM head) take the storage dtype; norms and biases stay f32. */
function storedDtype(shape: readonly number[], storage: WeightStorage): WeightStorage {
  return shape.length === 2 ? storage : 'f32';
}

/** GPU bytes uploadWeights allocates for this config and storage (what ModelWeights.bytes will be). */
export function plannedWeightBytes(cfg: ModelConfig, storage: WeightStorage): number {
  return expectedTensors(cfg).reduce((sum, t) => sum + allocationSize(t.shape.reduce((a, b) => a * b, 1) * (storedDtype(t.shape, storage) === 'f16' ? 2 : 4)), 0);
}

/** Source of float values by HF tensor name (a safetensors store or an in-memory map). */
export type TensorSource = (name: string) => Promise<ArrayLike<number>>;

/** Uploads every tensor the config needs from a safetensors store or a GGUF model (checked against the config first). */
export async function uploadWeights(ctx: GpuContext, cfg: ModelConfig, store: FloatTensorSource, opts: UploadOptions = {}): Promise<ModelWeights> {
  checkTensorShapes(cfg, new Map(store.names().map((n) => [n, store.info(n).shape])));
  return uploadFrom(ctx, cfg, (name) => store.readF32(name), opts);
}

/** Uploads from named float arrays (tests; merged weights already in memory). */
export function uploadWeightsFromMap(ctx: GpuContext, cfg: ModelConfig, tensors: ReadonlyMap<string, ArrayLike<number>>, opts: UploadOptions = {}): Promise<ModelWeights> {
  return uploadFrom(ctx, cfg, async (name) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`weights: missing tensor ${name}`);
    return t;
  }, opts);
}

async function uploadFrom(ctx: GpuContext, cfg: ModelConfig, read: TensorSource, opts: UploadOptions): Promise<ModelWeights> {
  const storage = resolveStorage(ctx, opts.storage);
  const specs = expectedTensors(cfg);
  const shapeOf = new Map(specs.map((s) => [s.name, s.shape]));
  let bytes = 0;
  let done = 0;
  const get = async (name: string): Promise<GPUBuffer> => {
    const shape = shapeOf.get(name);
    if (!shape) throw new Error(`weights: ${name} is not a tensor of this ${cfg.architecture} config`);
    const vals = await read(name);
    const n = shape.reduce((a, b) => a * b, 1);
    if (vals.length !== n) throw new Error(`weights: ${name} has ${vals.length} values, expected [${shape.join(', ')}]`);
    const data = storedDtype(shape, storage) === 'f16' ? float32ToF16Bits(vals) : vals instanceof Float32Array ? vals : Float32Array.from(vals);
    const buf = ctx.upload(data, name);
    bytes += buf.size;
    opts.onProgress?.(++done, specs.length, name);
    return buf;
  };
  const w = (buffer: GPUBuffer): Weight => ({ buffer, dtype: storage });

  const embed = w(await get('model.embed_tokens.weight'));
  const layers: LayerWeights[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `model.layers.${l}`;
    const inputNorm = await get(`${p}.input_layernorm.weight`);
    const linear = {} as Record<LinearModule, Weight>;
    for (const m of LINEAR_MODULES) linear[m] = w(await get(linearWeightName(l, m)));
    const bias = cfg.attentionBias
      ? {
          q_proj: await get(`${p}.self_attn.q_proj.bias`),
          k_proj: await get(`${p}.self_attn.k_proj.bias`),
          v_proj: await get(`${p}.self_attn.v_proj.bias`),
        }
      : null;
    const qkNorm = cfg.qkNorm ? { q: await get(qkNormName(l, 'q_norm')), k: await get(qkNormName(l, 'k_norm')) } : null;
    const postNorm = await get(`${p}.post_attention_layernorm.weight`);
    layers.push({ inputNorm, postNorm, linear, bias, qkNorm });
  }
  const norm = await get('model.norm.weight');
  const lmHead = cfg.tieWordEmbeddings ? embed : w(await get('lm_head.weight'));
  return { storage, embed, layers, norm, lmHead, bytes };
}

export function destroyWeights(ctx: GpuContext, w: ModelWeights): void {
  const bufs = new Set<GPUBuffer>();
  const add = (b: GPUBuffer | { buffer: unknown }) => {
    if ('mapState' in b) bufs.add(b as GPUBuffer);
    else if (b.buffer && 'mapState' in (b.buffer as object)) bufs.add(b.buffer as GPUBuffer);
  };
  add(w.embed.buffer as GPUBuffer);
  add(w.lmHead.buffer as GPUBuffer);
  add(w.norm);
  for (const l of w.layers) {
    add(l.inputNorm);
    add(l.postNorm);
    for (const m of LINEAR_MODULES) add(l.linear[m].buffer as GPUBuffer);
    if (l.bias) for (const b of Object.values(l.bias)) add(b);
    if (l.qkNorm) for (const b of Object.values(l.qkNorm)) add(b);
  }
  for (const b of bufs) ctx.destroy(b);
}
