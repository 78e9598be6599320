// Frozen base weights on the GPU, uploaded tensor by tensor from a safetensors store or a
// GGUF model (one tensor in CPU memory at a time; never the whole model in one ArrayBuffer).
// Linear weights and the embedding/LM head go in f32; f16 where the device has shader-f16
// and the caller asks for it (half the memory, the kernels accumulate in f32); or quantized
// on load with ggml's reference quantizers (q8: Q8_0; q4: Q4_0 linears with a Q8_0
// embedding/LM head, which llama.cpp's 4-bit files also keep at higher precision). A GGUF
// model's quantized tensors are uploaded as stored, whatever the storage asks for. Norms
// and biases stay f32.
import { type GpuContext, allocationSize } from '../gpu/context';
import type { Weight } from '../gpu/kernels/matmul';
import { type BlockDType, type WeightDType, BLOCK_GGML_TYPE, isBlockDType, packWeightBlocks, weightRowBytes } from '../gpu/kernels/weights';
import { type LinearModule, type ModelConfig, LINEAR_MODULES, checkTensorShapes, expectedTensors, isLinearWeight, layerNormName, linearWeightName, qkNormName } from './config';
import { float32ToF16Bits, type FloatDtype } from './dtype';
import { type BlockTensorSource, type QuantizableType, isQuantType, quantize } from './quant';
import type { FloatTensorSource } from './safetensors';

export type WeightStorage = 'f32' | 'f16' | 'q8' | 'q4';
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['f32', 'f16', 'q8', 'q4'];

export interface LayerWeights {
  inputNorm: GPUBuffer;
  /** The MLP's input norm: post_attention_layernorm (gemma: pre_feedforward_layernorm). */
  postNorm: GPUBuffer;
  /**
   * Gemma's norms of the sublayer outputs before their residual adds: post_attention_layernorm
   * (attention) and post_feedforward_layernorm (MLP); null for the other families.
   */
  outNorms: { attn: GPUBuffer; mlp: GPUBuffer } | null;
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
  if (requested === 'q8' || requested === 'q4') return { storage: requested, reason: `as requested: ${requested === 'q8' ? 'Q8_0' : 'Q4_0 linears, Q8_0 embedding/LM head'}, quantized on load` };
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
function storedDtype(name: string, shape: readonly number[], storage: WeightStorage): WeightDType {
  if (shape.length !== 2) return 'f32';
  if (storage === 'q8') return 'q8_0';
  if (storage === 'q4') return isLinearWeight(name) ? 'q4_0' : 'q8_0';
  return storage;
}

/** GPU bytes of one tensor stored as `dtype` (throws, naming the tensor, when its rows are not whole blocks). */
function tensorBytes(name: string, shape: readonly number[], dtype: WeightDType): number {
  const cols = shape.at(-1) ?? 1;
  const rows = shape.reduce((a, b) => a * b, 1) / cols;
  return allocationSize(rows * weightRowBytes(dtype, cols, name));
}

/**
 * GPU bytes uploadWeights allocates for this config and storage (what ModelWeights.bytes will
 * be for a float checkpoint; a GGUF model's quantized tensors take their file's size instead).
 */
export function plannedWeightBytes(cfg: ModelConfig, storage: WeightStorage): number {
  return expectedTensors(cfg).reduce((sum, t) => sum + tensorBytes(t.name, t.shape, storedDtype(t.name, t.shape, storage)), 0);
}

/** A tensor for the GPU: its bytes and their dtype. */
interface Stored {
  dtype: WeightDType;
  data: ArrayBufferView;
}

const isBlockSource = (s: FloatTensorSource): s is BlockTensorSource => 'readBlocks' in s;

/**
 * Uploads every tensor the config needs from a safetensors store or a GGUF model (checked
 * against the config first). A GGUF model's quantized tensors go up as stored.
 */
export async function uploadWeights(ctx: GpuContext, cfg: ModelConfig, store: FloatTensorSource, opts: UploadOptions = {}): Promise<ModelWeights> {
  checkTensorShapes(cfg, new Map(store.names().map((n) => [n, store.info(n).shape])));
  const stored: StoredSource = async (name, shape, dtype) => {
    if (isBlockSource(store)) {
      const type = store.info(name).type;
      if (isQuantType(type)) {
        const blocks = await store.readBlocks(name);
        const d = type.toLowerCase() as BlockDType;
        if (BLOCK_GGML_TYPE[d] !== type) throw new Error(`weights: ${name} is ${type}, which the GPU readers do not support`);
        return { dtype: d, data: packWeightBlocks(d, blocks.data) };
      }
    }
    return storeAs(await store.readF32(name), shape, dtype);
  };
  return uploadFrom(ctx, cfg, stored, opts);
}

/** Uploads from named float arrays (tests; merged weights already in memory). */
export function uploadWeightsFromMap(ctx: GpuContext, cfg: ModelConfig, tensors: ReadonlyMap<string, ArrayLike<number>>, opts: UploadOptions = {}): Promise<ModelWeights> {
  return uploadFrom(ctx, cfg, async (name, shape, dtype) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`weights: missing tensor ${name}`);
    return storeAs(t, shape, dtype);
  }, opts);
}

/** Float values → the bytes of `dtype` (f16 rounding, or ggml's quantizer with rows along the last axis). */
function storeAs(vals: ArrayLike<number>, shape: readonly number[], dtype: WeightDType): Stored {
  if (dtype === 'f16') return { dtype, data: float32ToF16Bits(vals) };
  const f = vals instanceof Float32Array ? vals : Float32Array.from(vals);
  if (!isBlockDType(dtype)) return { dtype, data: f };
  return { dtype, data: packWeightBlocks(dtype, quantize(BLOCK_GGML_TYPE[dtype] as QuantizableType, f, shape.at(-1) ?? 1)) };
}

/** Reads one tensor as the bytes to upload, given its shape and the dtype the storage asks for. */
type StoredSource = (name: string, shape: readonly number[], dtype: WeightDType) => Promise<Stored>;

async function uploadFrom(ctx: GpuContext, cfg: ModelConfig, read: StoredSource, opts: UploadOptions): Promise<ModelWeights> {
  const storage = resolveStorage(ctx, opts.storage);
  const specs = expectedTensors(cfg);
  const shapeOf = new Map(specs.map((s) => [s.name, s.shape]));
  // Every row must be whole blocks: refuse before reading anything.
  plannedWeightBytes(cfg, storage);
  let bytes = 0;
  let done = 0;
  const get = async (name: string): Promise<Weight> => {
    const shape = shapeOf.get(name);
    if (!shape) throw new Error(`weights: ${name} is not a tensor of this ${cfg.architecture} config`);
    const { dtype, data } = await read(name, shape, storedDtype(name, shape, storage));
    const want = tensorBytes(name, shape, dtype);
    if (allocationSize(data.byteLength) !== want) throw new Error(`weights: ${name} has ${data.byteLength} bytes of ${dtype}, expected [${shape.join(', ')}] (${want} bytes)`);
    const buffer = ctx.upload(data, name);
    bytes += buffer.size;
    opts.onProgress?.(++done, specs.length, name);
    return { buffer, dtype };
  };
  const f32 = async (name: string): Promise<GPUBuffer> => {
    const t = await get(name);
    if (t.dtype !== 'f32') throw new Error(`weights: ${name} must be f32 on the GPU, got ${t.dtype}`);
    return t.buffer as GPUBuffer;
  };

  const embed = await get('model.embed_tokens.weight');
  const layers: LayerWeights[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `model.layers.${l}`;
    const inputNorm = await f32(`${p}.input_layernorm.weight`);
    const linear = {} as Record<LinearModule, Weight>;
    for (const m of LINEAR_MODULES) linear[m] = await get(linearWeightName(l, m));
    const bias = cfg.attentionBias
      ? {
          q_proj: await f32(`${p}.self_attn.q_proj.bias`),
          k_proj: await f32(`${p}.self_attn.k_proj.bias`),
          v_proj: await f32(`${p}.self_attn.v_proj.bias`),
        }
      : null;
    const qkNorm = cfg.qkNorm ? { q: await f32(qkNormName(l, 'q_norm')), k: await f32(qkNormName(l, 'k_norm')) } : null;
    const attnNorm = await f32(layerNormName(l, 'post_attention_layernorm'));
    const gemma = cfg.gemma ? { pre: await f32(layerNormName(l, 'pre_feedforward_layernorm')), post: await f32(layerNormName(l, 'post_feedforward_layernorm')) } : null;
    const postNorm = gemma ? gemma.pre : attnNorm;
    const outNorms = gemma ? { attn: attnNorm, mlp: gemma.post } : null;
    layers.push({ inputNorm, postNorm, outNorms, linear, bias, qkNorm });
  }
  const norm = await f32('model.norm.weight');
  const lmHead = cfg.tieWordEmbeddings ? embed : await get('lm_head.weight');
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
    if (l.outNorms) for (const b of Object.values(l.outNorms)) add(b);
  }
  for (const b of bufs) ctx.destroy(b);
}
