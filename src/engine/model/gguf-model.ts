// GGUF base models (llama.cpp's layout) in the studio's terms: the tensor names and the q/k
// row permutation that map Hugging Face tensors to GGUF ones (used by the exports too), and a
// reader of a GGUF model file into a ModelConfig plus weights by HF name. Quantized tensors
// stay as their file's blocks (rows back in HF order) with a dequantize path beside them.
// Follows llama.cpp's convert_hf_to_gguf.py and llama-model.cpp; see FORMATS.md.
import { type GemmaSpecifics, type LinearModule, type Llama3RopeScaling, type ModelConfig, llama3ScaledInvFreq, SUPPORTED_ARCHITECTURES, type Architecture, checkTensorShapes, expectedTensors } from './config';
import { GgufError, type GgufFile, type GgufTensorInfo, readGguf } from './gguf-format';
import { type BlockTensor, type BlockTensorSource, type GgmlType, GGML_TYPES, dequantize, describeGgmlType, ggmlRowBytes, isQuantType } from './quant';
import type { ByteSource } from './safetensors';

/** GGUF module name of each linear layer. */
export const GGUF_MODULE: Record<LinearModule, string> = {
  q_proj: 'attn_q',
  k_proj: 'attn_k',
  v_proj: 'attn_v',
  o_proj: 'attn_output',
  gate_proj: 'ffn_gate',
  up_proj: 'ffn_up',
  down_proj: 'ffn_down',
};

/** GGUF names of the per-head q/k norm weights (qwen3, gemma3; HF self_attn.q_norm / k_norm). */
const GGUF_QK_NORM: Record<string, string> = { 'self_attn.q_norm': 'attn_q_norm', 'self_attn.k_norm': 'attn_k_norm' };

/**
 * Gemma 3's layer norms in llama.cpp (gguf-py's ATTN_POST_NORM, FFN_PRE_NORM, FFN_POST_NORM):
 * the MLP's input norm is ffn_norm there, as post_attention_layernorm is for llama.
 */
const GGUF_GEMMA_NORM: Record<string, string> = {
  post_attention_layernorm: 'post_attention_norm',
  pre_feedforward_layernorm: 'ffn_norm',
  post_feedforward_layernorm: 'post_ffw_norm',
};

/** GGUF tensor name of an HF tensor name of this architecture (llama/qwen2/qwen3/gemma3_text), or throws. */
export function ggufTensorName(hf: string, architecture: Architecture = 'llama'): string {
  if (hf === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (hf === 'model.norm.weight') return 'output_norm.weight';
  if (hf === 'lm_head.weight') return 'output.weight';
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hf);
  if (m) {
    const [, i, mod, kind] = m;
    if (mod === 'input_layernorm') return `blk.${i}.attn_norm.${kind}`;
    if (architecture === 'gemma3_text' && mod in GGUF_GEMMA_NORM) return `blk.${i}.${GGUF_GEMMA_NORM[mod]}.${kind}`;
    if (mod === 'post_attention_layernorm') return `blk.${i}.ffn_norm.${kind}`;
    if (mod in GGUF_QK_NORM) return `blk.${i}.${GGUF_QK_NORM[mod]}.${kind}`;
    const lin = /^(?:self_attn|mlp)\.([a-z_]+)$/.exec(mod);
    if (lin && lin[1] in GGUF_MODULE) return `blk.${i}.${GGUF_MODULE[lin[1] as LinearModule]}.${kind}`;
  }
  throw new Error(`GGUF: no GGUF name for tensor "${hf}"`);
}

/**
 * llama.cpp's llama architecture applies RoPE to interleaved pairs, HF to halves; the
 * converter permutes q/k rows per head so both agree: row h·D + s·D/2 + j → h·D + 2j + s.
 * `inverse` undoes it (GGUF → HF). A row is `cols` elements of `x`: floats, or the bytes of a
 * row of quantized blocks (blocks run along rows, so whole blocks move). `cols` is 1 for a bias.
 */
export function permuteRowsForRope<T extends Float32Array | Uint8Array>(x: T, rows: number, cols: number, nHead: number, inverse = false): T {
  const D = rows / nHead;
  if (!Number.isInteger(D) || D % 2) throw new Error(`permuteRowsForRope: ${rows} rows do not split into ${nHead} heads of even size`);
  if (x.length !== rows * cols) throw new Error(`permuteRowsForRope: ${x.length} elements are not ${rows} rows of ${cols}`);
  const half = D / 2;
  const out = x.slice() as T;
  for (let h = 0; h < nHead; h++) {
    for (let s = 0; s < 2; s++) {
      for (let j = 0; j < half; j++) {
        const hfRow = (h * D + s * half + j) * cols;
        const ggufRow = (h * D + 2 * j + s) * cols;
        const [src, dst] = inverse ? [ggufRow, hfRow] : [hfRow, ggufRow];
        out.set(x.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** GGUF general.architecture of each engine architecture (llama.cpp calls gemma3_text "gemma3"). */
const GGUF_ARCH: Record<Architecture, string> = { llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3', gemma3_text: 'gemma3' };

/**
 * What llama.cpp fixes for gemma3 instead of reading it from the file (llama-model.cpp): every
 * 6th layer global and the rest sliding (when attention.sliding_window is set), RoPE base 10000
 * unscaled on the sliding layers, and scores scaled by 1/√head_dim, or 1/√(hidden/heads) for
 * the 62-layer 27B. Every released Gemma 3 has exactly these values.
 */
export const LLAMA_CPP_GEMMA3 = {
  swaPeriod: 6,
  localRopeTheta: 10000,
  slidingLayers: (numLayers: number): boolean[] => Array.from({ length: numLayers }, (_, i) => i % 6 < 5),
  queryPreAttnScalar: (c: Pick<ModelConfig, 'numLayers' | 'hiddenSize' | 'numHeads' | 'headDim'>): number => (c.numLayers === 62 ? c.hiddenSize / c.numHeads : c.headDim),
};

/** Why llama.cpp would run this gemma3_text config differently from the engine, or null. */
function llamaCppGemmaMismatch(cfg: ModelConfig): string | null {
  const g = cfg.gemma;
  if (!g) return null;
  const sliding = g.slidingLayers.some(Boolean);
  const want = LLAMA_CPP_GEMMA3.slidingLayers(cfg.numLayers);
  if (sliding && g.slidingLayers.some((s, i) => s !== want[i])) return `its layer types are not llama.cpp's fixed pattern (every ${LLAMA_CPP_GEMMA3.swaPeriod}th layer global, the others sliding)`;
  if (sliding && g.ropeLocalTheta !== LLAMA_CPP_GEMMA3.localRopeTheta) return `rope_local_base_freq ${g.ropeLocalTheta} is not the ${LLAMA_CPP_GEMMA3.localRopeTheta} llama.cpp assumes`;
  const scalar = LLAMA_CPP_GEMMA3.queryPreAttnScalar(cfg);
  if (g.queryPreAttnScalar !== scalar) return `query_pre_attn_scalar ${g.queryPreAttnScalar} is not the ${scalar} llama.cpp assumes for this shape`;
  return null;
}

/**
 * The GGUF general.architecture of a config, for the GGUF exports. A gemma3_text config whose
 * hyperparameters llama.cpp would not reproduce (see LLAMA_CPP_GEMMA3) is refused with the reason.
 */
export function ggufArchitecture(cfg: ModelConfig): string {
  const why = llamaCppGemmaMismatch(cfg);
  if (why) throw new Error(`GGUF export: llama.cpp would run this gemma3_text model differently: ${why}; export the PEFT adapter or a merged safetensors model instead`);
  return GGUF_ARCH[cfg.architecture];
}

/**
 * What GGUF adds to an HF tensor: 1 for Gemma 3's norm weights (convert_hf_to_gguf.py's
 * Gemma3Model adds 1 to every "*norm.weight", so GGUF holds the 1 + w that Gemma3RMSNorm
 * multiplies by, while the engine keeps w as transformers does), else 0.
 */
export function ggufNormShift(cfg: Pick<ModelConfig, 'architecture'>, hf: string): number {
  return cfg.architecture === 'gemma3_text' && hf.endsWith('norm.weight') ? 1 : 0;
}

/** The permutation (head count) an HF tensor needs for this architecture, or 0 for none (NEOX-RoPE architectures). */
export function ropePermuteHeads(cfg: ModelConfig, hf: string): number {
  if (cfg.architecture !== 'llama') return 0;
  if (/\.self_attn\.q_proj\.(weight|bias)$/.test(hf)) return cfg.numHeads;
  if (/\.self_attn\.k_proj\.(weight|bias)$/.test(hf)) return cfg.numKvHeads;
  return 0;
}

/** Tensor types a GGUF base model may use. */
export const GGUF_MODEL_TYPES: readonly GgmlType[] = Object.keys(GGML_TYPES) as GgmlType[];

// ---- config ----

function fail(file: string, msg: string): never {
  throw new GgufError(`${file}: ${msg}`);
}

function kvNumber(g: GgufFile, file: string, key: string, fallback?: number): number {
  const v = g.get(key) ?? fallback;
  if (v === undefined) fail(file, `missing "${key}"`);
  if (Array.isArray(v)) fail(file, `"${key}" is a per-layer list, which is not supported (supported: one value for all layers)`);
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(file, `"${key}" must be a positive number, got ${String(v)}`);
  return v;
}

function kvInt(g: GgufFile, file: string, key: string, fallback?: number): number {
  const v = kvNumber(g, file, key, fallback);
  if (!Number.isSafeInteger(v)) fail(file, `"${key}" must be an integer, got ${v}`);
  return v;
}

/**
 * Llama 3 RoPE scaling from the factors llama.cpp keeps in rope_freqs.weight (the converter
 * writes no scaling keys). The factors depend on two wavelength thresholds only: orig/high
 * (below: factor 1) and orig/low (above: `factor`), with a smooth ramp linear in 1/wavelength
 * between them; fitted here with low = 1, then checked against every factor.
 */
export function llama3ScalingFromFactors(factors: Float32Array, ropeTheta: number, headDim: number, file = 'GGUF'): Llama3RopeScaling | null {
  const n = headDim / 2;
  if (factors.length !== n) fail(file, `rope_freqs.weight has ${factors.length} values, head dim ${headDim} needs ${n}`);
  const factor = Math.max(...factors);
  if (factors.every((f) => Math.abs(f - 1) < 1e-6)) return null;
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b));
  const wavelen = Array.from({ length: n }, (_, j) => 2 * Math.PI * Math.pow(ropeTheta, (2 * j) / headDim));
  const hi: number[] = [], lo: number[] = [], mid: number[] = [];
  factors.forEach((f, j) => (close(f, 1) ? hi : close(f, factor) ? lo : mid).push(j));
  // a = 1/(orig/low), b = 1/(orig/high); on the ramp s = (1/λ − a)/(b − a) with 1/f = (1 − s)/factor + s.
  let a: number, b: number;
  if (mid.length >= 2) {
    // least squares of s·b + (1 − s)·a = 1/λ over the ramp
    let saa = 0, sab = 0, sbb = 0, ya = 0, yb = 0;
    for (const j of mid) {
      const s = (1 / factors[j] - 1 / factor) / (1 - 1 / factor);
      const y = 1 / wavelen[j];
      saa += (1 - s) ** 2; sab += s * (1 - s); sbb += s * s; ya += (1 - s) * y; yb += s * y;
    }
    const det = saa * sbb - sab * sab;
    a = (ya * sbb - yb * sab) / det;
    b = (yb * saa - ya * sab) / det;
  } else if (lo.length && (hi.length || mid.length)) {
    // One ramp point or none: the thresholds are not all pinned down, and any that reproduce
    // the factors are the same model. orig/low goes between the ramp (or step) and the first
    // `factor` frequency; orig/high then follows from the ramp point (or sits just past the step).
    const last = 1 / wavelen[mid.length ? mid[0] : hi[hi.length - 1]];
    const first = 1 / wavelen[lo[0]];
    a = Math.sqrt(first * last);
    if (mid.length) {
      const s = (1 / factors[mid[0]] - 1 / factor) / (1 - 1 / factor);
      b = (last - (1 - s) * a) / s;
    } else {
      a = Math.min(a, last / 1.0001);
      b = Math.min(last, a * 1.0002);
    }
  } else {
    return fail(file, 'rope_freqs.weight does not look like Llama 3 RoPE scaling (supported: llama3, or none)');
  }
  const orig = 1 / a;
  const scaling: Llama3RopeScaling = { ropeType: 'llama3', factor, lowFreqFactor: 1, highFreqFactor: b / a, originalMaxPositionEmbeddings: orig };
  const back = llama3Factors(scaling, ropeTheta, headDim);
  if (!(b > a && a > 0) || back.some((f, j) => !close(f, factors[j]))) fail(file, 'rope_freqs.weight does not match Llama 3 RoPE scaling (supported: llama3, or none)');
  return scaling;
}

/** RoPE frequency factors of llama3 scaling (plain / scaled inverse frequency), as convert_hf_to_gguf.py writes rope_freqs.weight. */
export function llama3Factors(s: Llama3RopeScaling, ropeTheta: number, headDim: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let j = 0; j < headDim / 2; j++) {
    const inv = 1 / Math.pow(ropeTheta, (2 * j) / headDim);
    out[j] = inv / llama3ScaledInvFreq(inv, s);
  }
  return out;
}

/** Architectures llama.cpp writes that the engine does not run (yet), for a precise message. */
const KNOWN_UNSUPPORTED = ['gemma2', 'gemma3n', 'phi3', 'mistral3', 'qwen3moe'];

/** Engine architecture of each GGUF general.architecture a base model may have. */
const FROM_GGUF_ARCH = new Map(SUPPORTED_ARCHITECTURES.map((a) => [GGUF_ARCH[a], a]));

/**
 * gemma3's specifics from a GGUF: the KVs llama.cpp reads (sliding_window: none or 0 means
 * every layer global; linear RoPE scaling of the global layers) and the values it fixes
 * (LLAMA_CPP_GEMMA3). The embedding scale is √hidden in f32, as llama.cpp's graph applies it.
 */
function ggufGemma(g: GgufFile, file: string, k: (key: string) => string, shape: Pick<ModelConfig, 'numLayers' | 'hiddenSize' | 'numHeads' | 'headDim' | 'maxPositionEmbeddings'>): GemmaSpecifics {
  const cap = g.get(k('final_logit_softcapping'));
  if (cap !== undefined && cap !== 0) fail(file, `final_logit_softcapping ${String(cap)} is not supported (supported: none, as in every Gemma 3)`);
  const window = g.get(k('attention.sliding_window')) ?? 0;
  if (typeof window !== 'number' || !Number.isSafeInteger(window) || window < 0) fail(file, `"${k('attention.sliding_window')}" must be a non-negative integer, got ${String(window)}`);
  const scaling = g.get(k('rope.scaling.type'));
  return {
    slidingLayers: window ? LLAMA_CPP_GEMMA3.slidingLayers(shape.numLayers) : new Array<boolean>(shape.numLayers).fill(false),
    slidingWindow: window || shape.maxPositionEmbeddings,
    ropeLocalTheta: LLAMA_CPP_GEMMA3.localRopeTheta,
    ropeLinearFactor: scaling === 'linear' ? kvNumber(g, file, k('rope.scaling.factor')) : 1,
    queryPreAttnScalar: LLAMA_CPP_GEMMA3.queryPreAttnScalar(shape),
    embedScale: Math.fround(Math.sqrt(shape.hiddenSize)),
  };
}

/** ModelConfig from a GGUF model's KVs and tensor list. */
export async function ggufModelConfig(g: GgufFile, file = 'GGUF'): Promise<ModelConfig> {
  const arch = g.get('general.architecture');
  const architecture = typeof arch === 'string' ? FROM_GGUF_ARCH.get(arch) : undefined;
  if (!architecture) {
    const known = typeof arch === 'string' && KNOWN_UNSUPPORTED.includes(arch) ? ' is a llama.cpp architecture the engine does not run yet' : ' is not supported';
    fail(file, `general.architecture ${JSON.stringify(arch)}${known} (supported: ${[...FROM_GGUF_ARCH.keys()].join(', ')})`);
  }
  if (g.get('general.type') === 'adapter') fail(file, 'is a LoRA adapter GGUF, not a base model');
  const isGemma = architecture === 'gemma3_text';
  const k = (key: string) => `${arch as string}.${key}`;
  const byName = new Map(g.tensors.map((t) => [t.name, t]));
  const hiddenSize = kvInt(g, file, k('embedding_length'));
  const numHeads = kvInt(g, file, k('attention.head_count'));
  const numKvHeads = kvInt(g, file, k('attention.head_count_kv'), numHeads);
  if (numHeads % numKvHeads) fail(file, `head_count (${numHeads}) must be a multiple of head_count_kv (${numKvHeads})`);
  const headDim = kvInt(g, file, k('attention.key_length'), hiddenSize / numHeads);
  if (headDim % 2) fail(file, `key_length (${headDim}) must be even for RoPE`);
  const valueLength = kvInt(g, file, k('attention.value_length'), headDim);
  if (valueLength !== headDim) fail(file, `value_length ${valueLength} differs from key_length ${headDim} (supported: equal)`);
  const ropeDims = kvInt(g, file, k('rope.dimension_count'), headDim);
  if (ropeDims !== headDim) fail(file, `rope.dimension_count ${ropeDims} is not the head dim ${headDim} (supported: RoPE on the whole head)`);
  const scalingType = g.get(k('rope.scaling.type'));
  if (scalingType !== undefined && scalingType !== 'none' && !(isGemma && scalingType === 'linear')) {
    fail(file, `rope.scaling.type ${JSON.stringify(scalingType)} is not supported (supported: none${isGemma ? ', linear' : ', or llama3 factors in rope_freqs.weight'})`);
  }
  const ropeTheta = kvNumber(g, file, k('rope.freq_base'), 10000);

  const embd = byName.get('token_embd.weight');
  if (!embd || embd.shape.length !== 2) fail(file, 'missing 2-D tensor token_embd.weight');
  const tokens = g.get('tokenizer.ggml.tokens');
  const vocabSize = kvInt(g, file, k('vocab_size'), Array.isArray(tokens) ? tokens.length : embd.shape[0]);
  if (embd.shape[0] !== vocabSize) fail(file, `token_embd.weight has ${embd.shape[0]} rows but the vocabulary has ${vocabSize} tokens`);

  const ropeFreqs = byName.get('rope_freqs.weight');
  const ropeScaling = ropeFreqs ? llama3ScalingFromFactors(await g.readF32('rope_freqs.weight'), ropeTheta, headDim, file) : null;
  const linearType = byName.get('blk.0.attn_q.weight')?.typeName;
  const id = (key: string): number | null => {
    const v = g.get(key);
    return typeof v === 'number' && Number.isSafeInteger(v) ? v : null;
  };
  const eos = id('tokenizer.ggml.eos_token_id');
  const numLayers = kvInt(g, file, k('block_count'));
  const maxPositionEmbeddings = kvInt(g, file, k('context_length'), 2048);
  return {
    architecture,
    hiddenSize,
    intermediateSize: kvInt(g, file, k('feed_forward_length')),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize,
    rmsNormEps: kvNumber(g, file, k('attention.layer_norm_rms_epsilon')),
    ropeTheta,
    ropeScaling,
    tieWordEmbeddings: !byName.has('output.weight'), // llama.cpp reuses token_embd when output is absent
    maxPositionEmbeddings,
    attentionBias: architecture === 'qwen2' || byName.has('blk.0.attn_q.bias'),
    qkNorm: architecture === 'qwen3' || isGemma,
    gemma: isGemma ? ggufGemma(g, file, k, { numLayers, hiddenSize, numHeads, headDim, maxPositionEmbeddings }) : null,
    dtype: linearType === 'F16' || linearType === 'BF16' ? linearType : 'F32',
    bosTokenId: id('tokenizer.ggml.bos_token_id'),
    eosTokenIds: eos === null ? [] : [eos],
  };
}

// ---- weights ----

/** A GGUF tensor as BlockTensor: the file's bytes (blocks for quantized types), rows in HF order (q/k permutation undone). */
export interface GgufTensor extends BlockTensor {
  ggufName: string;
}

/** Weights of a GGUF model by HF name: raw blocks for a quantized upload, float32 for the rest. */
export class GgufModelWeights implements BlockTensorSource {
  private readonly byHf: Map<string, GgufTensorInfo>;

  constructor(
    readonly gguf: GgufFile,
    readonly config: ModelConfig,
    private readonly file: string,
  ) {
    const byGguf = new Map(gguf.tensors.map((t) => [t.name, t]));
    this.byHf = new Map();
    const problems: string[] = [];
    for (const t of expectedTensors(config)) {
      const g = byGguf.get(ggufTensorName(t.name, config.architecture));
      if (!g) continue; // reported by checkTensorShapes with the HF name and shape
      if (!g.typeName) problems.push(`tensor ${g.name} is ${describeGgmlType(g.type)}`);
      else if (ggufNormShift(config, t.name) && isQuantType(g.typeName)) problems.push(`norm tensor ${g.name} is ${g.typeName}, its 1 + w cannot be undone on the blocks`);
      this.byHf.set(t.name, g);
    }
    if (problems.length) fail(file, `${problems.slice(0, 4).join('; ')}${problems.length > 4 ? `; and ${problems.length - 4} more` : ''} (supported: ${GGUF_MODEL_TYPES.join(', ')})`);
    const mapped = new Set([...this.byHf.values()].map((t) => t.name));
    const extra = gguf.tensors.filter((t) => !mapped.has(t.name) && t.name !== 'rope_freqs.weight').map((t) => t.name);
    if (extra.length) fail(file, `unexpected tensor${extra.length > 1 ? 's' : ''} ${extra.slice(0, 4).join(', ')}${extra.length > 4 ? ', ...' : ''} for a ${config.architecture} model`);
    try {
      checkTensorShapes(config, new Map([...this.byHf].map(([n, t]) => [n, t.shape])));
    } catch (e) {
      throw new GgufError(`${file}: ${(e as Error).message}`, { cause: e });
    }
  }

  names(): string[] {
    return [...this.byHf.keys()];
  }

  has(name: string): boolean {
    return this.byHf.has(name);
  }

  private tensor(name: string): GgufTensorInfo {
    const t = this.byHf.get(name);
    if (!t) throw new GgufError(`${this.file}: no tensor for "${name}"`);
    return t;
  }

  info(name: string): { name: string; ggufName: string; type: GgmlType; shape: number[] } {
    const t = this.tensor(name);
    return { name, ggufName: t.name, type: t.typeName!, shape: t.shape.slice() };
  }

  /** The tensor's bytes as stored, with llama's q/k row permutation undone (whole rows of blocks move). */
  async readBlocks(name: string): Promise<GgufTensor> {
    const t = this.tensor(name);
    const type = t.typeName!;
    let data = await this.gguf.readRaw(t.name);
    const heads = ropePermuteHeads(this.config, name);
    if (heads) {
      const rows = t.shape[0];
      let rowBytes: number;
      try {
        rowBytes = t.shape.length === 2 ? ggmlRowBytes(type, t.shape[1]) : ggmlRowBytes(type, 1);
      } catch (e) {
        throw new GgufError(`${this.file}: tensor ${t.name}: ${(e as Error).message}`, { cause: e });
      }
      data = permuteRowsForRope(data, rows, rowBytes, heads, true);
    }
    return { name, ggufName: t.name, type, shape: t.shape.slice(), data };
  }

  /** Float32 values in HF layout, dequantized as ggml does (Gemma's norms back to w from 1 + w). */
  async readF32(name: string): Promise<Float32Array> {
    const t = await this.readBlocks(name);
    const x = dequantize(t.type, t.data);
    const shift = ggufNormShift(this.config, name);
    if (shift) for (let i = 0; i < x.length; i++) x[i] -= shift;
    return x;
  }
}

export interface GgufModel {
  config: ModelConfig;
  weights: GgufModelWeights;
  gguf: GgufFile;
}

/** Opens a GGUF base model: reads the header only; tensors are read one at a time on demand. */
export async function openGgufModel(source: ByteSource): Promise<GgufModel> {
  const gguf = await readGguf(source);
  const config = await ggufModelConfig(gguf, source.name);
  return { config, weights: new GgufModelWeights(gguf, config, source.name), gguf };
}
