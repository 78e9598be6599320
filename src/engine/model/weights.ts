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
import { type BlockTensorSource, type GgmlType, GGML_BLOCK, isQuantType, quantize } from './quant';
import type { FloatTensorSource } from './safetensors';

import { GGML_TYPE_STORAGE, WEIGHT_STORAGES, type WeightStorage, type WeightsFlag } from './weight-storage';

export { WEIGHT_STORAGES, type WeightStorage, type WeightsFlag };

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
  /**
   * What the base weights are actually stored as: the requested storage, or for a GGUF base whose
   * matrices are kept as stored, the class of its least precise one (storageClass): run records
   * and recipes name this, not the request.
   */
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
  /** 'auto' = the most precise storage whose weights fit this device (chooseWeightStorage with weightsOnlyFit). Default 'f32'. */
  storage?: WeightStorage | 'auto';
  onProgress?: (done: number, total: number, name: string) => void;
}

export interface StorageChoice {
  storage: WeightStorage;
  /** Why, in a few words (what 'auto' saw and what the choice costs), for the user. */
  reason: string;
}

/**
 * What 'auto' weighs: the bytes a job allocates with each storage (the engine's own plan;
 * throws, with the engine's reason, where the storage cannot run here, e.g. a tensor over
 * maxBufferSize or rows that are not whole blocks) and the memory it may take.
 */
export interface WeightFit {
  planBytes(storage: WeightStorage): number;
  /** Bytes 'auto' lets a job take. Browsers and Dawn do not say how much memory a GPU has. */
  budgetBytes: number;
}

/**
 * The memory 'auto' aims under: what a typical integrated GPU lends a browser tab before
 * things get tight (WebGPU does not report a GPU's memory, so this is a judgement).
 */
export const AUTO_BUDGET_BYTES = 2 * 1024 ** 3;

const fmtGiB = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GiB`;

/** What storing the base this way changes, for the reason line. */
function storageCost(storage: WeightStorage, modelDtype: FloatDtype | undefined): string {
  if (storage === 'f32') return modelDtype === 'F32' || modelDtype === undefined ? 'matches PyTorch' : `holds the ${modelDtype === 'BF16' ? 'bfloat16' : 'float16'} weights exactly`;
  if (storage === 'f16') {
    return modelDtype === 'F16' ? 'the model is already float16, so nothing is rounded'
      : modelDtype === 'BF16' ? 'f16 holds bfloat16 weights exactly except magnitudes under 6e-5 or over 65504'
      : 'f16 storage of an f32 model changes probabilities by ~1e-3';
  }
  return storage === 'q8' ? 'Q8_0, quantized on load' : 'Q4_0 linears, Q8_0 embedding/LM head, quantized on load';
}

/**
 * The one place a weight storage is decided (CLI --weights, the studio's Model screen, a
 * session's 'auto'). An explicit choice is kept (f16 refused without shader-f16). 'auto' takes
 * the most precise of f32 → f16 (with shader-f16) → q8 → q4 whose plan fits the device's
 * limits and `fit.budgetBytes`; if none fits the budget, the smallest that runs at all; if
 * none runs, it throws with each format's reason. An explicit choice `fit` refuses is refused
 * too. Without `fit` every plan counts as fitting.
 */
export function chooseWeightStorage(requested: WeightsFlag | undefined, hasF16: boolean, modelDtype?: FloatDtype, fit?: WeightFit): StorageChoice {
  if (requested === 'f16' && !hasF16) throw new Error('f16 weights need the shader-f16 feature, which this device lacks');
  if (requested !== 'auto') {
    const storage = requested ?? 'f32';
    try {
      fit?.planBytes(storage); // refuses what cannot run here, before anything is read
    } catch (e) {
      throw new Error(`${storage} weights cannot run this model on this device: ${(e as Error).message}`, { cause: e });
    }
    if (requested === 'q8' || requested === 'q4') return { storage, reason: `as requested: ${storageCost(requested, modelDtype)}` };
    return { storage, reason: requested ? 'as requested' : 'the default' };
  }
  const skipped: string[] = hasF16 ? [] : ['f16: this adapter has no shader-f16'];
  let smallest: { storage: WeightStorage; bytes: number } | null = null;
  for (const storage of WEIGHT_STORAGES) {
    if (storage === 'f16' && !hasF16) continue;
    let bytes: number;
    try {
      bytes = fit ? fit.planBytes(storage) : 0;
    } catch (e) {
      skipped.push(`${storage}: ${(e as Error).message}`);
      continue;
    }
    if (!fit || bytes <= fit.budgetBytes) {
      const size = fit ? `, ${fmtGiB(bytes)} planned` : '';
      const why = skipped.length ? `; ${skipped.join('; ')}` : '';
      return { storage, reason: `auto: the most precise format that fits${size}; ${storageCost(storage, modelDtype)}${why}` };
    }
    skipped.push(`${storage} needs ${fmtGiB(bytes)}`);
    if (!smallest || bytes < smallest.bytes) smallest = { storage, bytes };
  }
  if (!smallest) throw new Error(`no weight format can run this model on this device: ${skipped.join('; ')}`);
  return {
    storage: smallest.storage,
    reason: `auto: nothing fits the ${fmtGiB(fit!.budgetBytes)} budget (${skipped.join('; ')}); ${smallest.storage} needs the least; ${storageCost(smallest.storage, modelDtype)}`,
  };
}

/**
 * Tensors a GGUF base keeps as stored whatever the storage asks for (HF name → its block dtype):
 * the plan and the upload size them as the file's blocks, not as `storage`.
 */
export type KeptTensors = ReadonlyMap<string, BlockDType>;

/** The kept tensors of a tensor source: a GGUF model's quantized tensors; none for safetensors. */
export function keptTensors(store: FloatTensorSource): KeptTensors {
  if (!isBlockSource(store)) return new Map();
  return keptTensorsOf(Object.fromEntries(store.names().map((n) => [n, store.info(n).type])));
}

/** The kept tensors from HF name → ggml type name (a GGUF header's types, as the studio passes them around). */
export function keptTensorsOf(types: Readonly<Record<string, string>>): KeptTensors {
  const out = new Map<string, BlockDType>();
  for (const [name, type] of Object.entries(types)) {
    if (!Object.hasOwn(GGML_BLOCK, type) || !isQuantType(type as GgmlType)) continue; // a header may name types we do not read
    out.set(name, type.toLowerCase() as BlockDType);
  }
  return out;
}

/** The storage a dtype amounts to, for run records and recipes (GGML_TYPE_STORAGE). */
const storageOfDtype = (d: WeightDType): WeightStorage => GGML_TYPE_STORAGE[d.toUpperCase() as Uppercase<WeightDType>];

/** What weights in `storage` with these tensors kept as stored amount to: the least precise of them. */
export function storageClass(storage: WeightStorage, kept: KeptTensors = new Map()): WeightStorage {
  const rank = (s: WeightStorage) => WEIGHT_STORAGES.indexOf(s);
  let out = storage;
  for (const d of kept.values()) if (rank(storageOfDtype(d)) > rank(out)) out = storageOfDtype(d);
  return out;
}

/** Bytes of the largest single weight tensor as `storage` stores it (one GPU buffer each). */
export function largestWeightTensorBytes(cfg: ModelConfig, storage: WeightStorage, kept?: KeptTensors): number {
  return Math.max(...expectedTensors(cfg).map((t) => tensorBytes(t.name, t.shape, storedDtype(t.name, t.shape, storage, kept))));
}

/** Throws, naming the tensor, where one weight tensor of `storage` exceeds the device's largest buffer. */
export function checkWeightBuffers(cfg: ModelConfig, storage: WeightStorage, maxBufferSize: number, kept?: KeptTensors): void {
  for (const t of expectedTensors(cfg)) {
    const bytes = tensorBytes(t.name, t.shape, storedDtype(t.name, t.shape, storage, kept));
    if (bytes > maxBufferSize) throw new Error(`${t.name} needs ${fmtGiB(bytes)} in one buffer; this GPU allows ${fmtGiB(maxBufferSize)}`);
  }
}

/** 'auto' for a job that holds only the weights (generation, evaluation): their bytes, within the buffer limit. */
export function weightsOnlyFit(cfg: ModelConfig, maxBufferSize: number, budgetBytes = AUTO_BUDGET_BYTES, kept?: KeptTensors): WeightFit {
  return {
    planBytes: (storage) => {
      checkWeightBuffers(cfg, storage, maxBufferSize, kept);
      return plannedWeightBytes(cfg, storage, kept);
    },
    budgetBytes,
  };
}

/** Resolves 'auto' for the weights alone and refuses f16 where the device lacks it. */
export function resolveStorage(ctx: GpuContext, cfg: ModelConfig, s: WeightStorage | 'auto' | undefined, kept?: KeptTensors): WeightStorage {
  return chooseWeightStorage(s, ctx.caps.f16, cfg.dtype, s === 'auto' ? weightsOnlyFit(cfg, ctx.caps.maxBufferSize, AUTO_BUDGET_BYTES, kept) : undefined).storage;
}

/** Matrices (embedding, linears, LM head) take the storage dtype, or the file's blocks where kept; norms and biases stay f32. */
function storedDtype(name: string, shape: readonly number[], storage: WeightStorage, kept?: KeptTensors): WeightDType {
  const k = kept?.get(name);
  if (k) return k;
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
 * be), with a GGUF base's quantized tensors (`kept`) at their blocks' size.
 */
export function plannedWeightBytes(cfg: ModelConfig, storage: WeightStorage, kept?: KeptTensors): number {
  return expectedTensors(cfg).reduce((sum, t) => sum + tensorBytes(t.name, t.shape, storedDtype(t.name, t.shape, storage, kept)), 0);
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
  return uploadFrom(ctx, cfg, stored, opts, keptTensors(store));
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
  return { dtype, data: packWeightBlocks(dtype, quantize(BLOCK_GGML_TYPE[dtype], f, shape.at(-1) ?? 1)) };
}

/** Reads one tensor as the bytes to upload, given its shape and the dtype the storage asks for. */
type StoredSource = (name: string, shape: readonly number[], dtype: WeightDType) => Promise<Stored>;

async function uploadFrom(ctx: GpuContext, cfg: ModelConfig, read: StoredSource, opts: UploadOptions, kept: KeptTensors = new Map()): Promise<ModelWeights> {
  const storage = resolveStorage(ctx, cfg, opts.storage, kept);
  const specs = expectedTensors(cfg);
  const shapeOf = new Map(specs.map((s) => [s.name, s.shape]));
  // Every row must be whole blocks: refuse before reading anything.
  plannedWeightBytes(cfg, storage, kept);
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
  return { storage: storageClass(storage, kept), embed, layers, norm, lmHead, bytes };
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
