// ModelConfig from a Hugging Face config.json (llama, qwen2, qwen3 and gemma3_text families), the tensor names and
// shapes such a model has, and parameter counts (the memory a run allocates: src/train/memory-plan.ts).
import { parseJsonObject } from './json';
import { type FloatDtype, TORCH_DTYPE, bf16BitsToNumber, dtypeFromTorch, f16BitsToNumber, numberToBf16Bits, numberToF16Bits } from './dtype';

export type Architecture = 'llama' | 'qwen2' | 'qwen3' | 'gemma3_text';
export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = ['llama', 'qwen2', 'qwen3', 'gemma3_text'];

/** Llama 3 style frequency-dependent RoPE scaling (the only scaling type supported). */
export interface Llama3RopeScaling {
  ropeType: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/**
 * What Gemma 3 (gemma3_text) adds to the block: RMSNorms scale by (1 + w) (weights stored as
 * offsets), the embedding is scaled by √hidden_size, each sublayer's output is normed again
 * before its residual add (post_attention_layernorm, post_feedforward_layernorm; the MLP's
 * input norm is pre_feedforward_layernorm), the MLP is GELU-tanh gated, scores scale by
 * query_pre_attn_scalar^-0.5, and sliding-window layers use their own RoPE base.
 */
export interface GemmaSpecifics {
  /** Per layer: a sliding-window (local) layer, else full attention. */
  slidingLayers: boolean[];
  /** Keys a local layer's query sees, itself included (sliding_window). */
  slidingWindow: number;
  /** RoPE base of the local layers (rope_local_base_freq); full layers use ropeTheta. */
  ropeLocalTheta: number;
  /** Linear RoPE scaling of the full layers (inv_freq / factor); 1 without. */
  ropeLinearFactor: number;
  /** Attention scores scale by queryPreAttnScalar^-0.5. */
  queryPreAttnScalar: number;
  /** √hidden_size rounded to the model's dtype, as transformers multiplies the embedding by it. */
  embedScale: number;
}

export interface ModelConfig {
  architecture: Architecture;
  /** C */
  hiddenSize: number;
  /** F */
  intermediateSize: number;
  /** L */
  numLayers: number;
  /** H */
  numHeads: number;
  /** KVH */
  numKvHeads: number;
  /** D */
  headDim: number;
  /** V */
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  /** q/k/v projections carry biases (qwen2 always; llama when attention_bias is true). */
  attentionBias: boolean;
  /**
   * Per-head RMSNorm of q and k over head_dim, before RoPE (qwen3: self_attn.q_norm / k_norm
   * weights [D], shared by all heads of a layer, same eps as the other norms).
   */
  qkNorm: boolean;
  /** gemma3_text's block variants (see GemmaSpecifics); null for the other families. */
  gemma: GemmaSpecifics | null;
  /** dtype of the weights as published (torch_dtype, or transformers 5's dtype), F32 when absent. */
  dtype: FloatDtype;
  bosTokenId: number | null;
  /** One id or several (generation may stop on any). */
  eosTokenIds: number[];
}

export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
}

/** The transformers class each architecture's config.json names in "architectures". */
export const ARCH_CLASS: Record<Architecture, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', gemma3_text: 'Gemma3ForCausalLM' };

function fail(msg: string): never {
  throw new ModelConfigError(`config.json: ${msg}`);
}

function posInt(j: Record<string, unknown>, key: string, fallback?: number): number {
  const v = j[key] ?? fallback;
  if (v === undefined) fail(`missing "${key}"`);
  if (!Number.isSafeInteger(v) || (v as number) <= 0) fail(`"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

function posNum(j: Record<string, unknown>, key: string, fallback: number): number {
  const v = j[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`"${key}" must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function parseRopeScaling(v: unknown): Llama3RopeScaling | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) fail(`"rope_scaling" must be an object or null`);
  const r = v as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  if (type === 'default') return null;
  if (type !== 'llama3') {
    fail(`rope_scaling type ${JSON.stringify(type)} is not supported (supported: llama3, or none)`);
  }
  const scaling: Llama3RopeScaling = {
    ropeType: 'llama3',
    factor: posNum(r, 'factor', 8),
    lowFreqFactor: posNum(r, 'low_freq_factor', 1),
    highFreqFactor: posNum(r, 'high_freq_factor', 4),
    originalMaxPositionEmbeddings: posInt(r, 'original_max_position_embeddings', 8192),
  };
  if (!(scaling.highFreqFactor > scaling.lowFreqFactor)) fail(`rope_scaling high_freq_factor (${scaling.highFreqFactor}) must exceed low_freq_factor (${scaling.lowFreqFactor})`);
  return scaling;
}

/**
 * One inverse RoPE frequency under llama3 scaling, as transformers' _compute_llama3_parameters
 * computes it: wavelengths past original/low_freq_factor are divided by `factor`, those under
 * original/high_freq_factor kept, and the band between blended smoothly. `round` is applied
 * after every operation: Math.fround reproduces transformers' float32 tensors (the GPU's
 * table), the identity gives float64 (the reference, the GGUF rope_freqs factors). The one
 * definition of the formula.
 */
export function llama3ScaledInvFreq(inv: number, s: Llama3RopeScaling, round: (x: number) => number = (x) => x): number {
  const f = round;
  const old = s.originalMaxPositionEmbeddings;
  const wavelen = f((2 * Math.PI) / inv);
  if (wavelen > old / s.lowFreqFactor) return f(inv / s.factor);
  if (wavelen < old / s.highFreqFactor) return inv;
  const smooth = f(f(f(old / wavelen) - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
  return f(f(f(f(1 - smooth) * inv) / s.factor) + f(smooth * inv));
}

function tokenIds(v: unknown, key: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((x) => Number.isSafeInteger(x) && x >= 0)) fail(`"${key}" must be a token id or a list of them`);
  return list as number[];
}

/** x rounded to a float dtype (transformers casts Gemma's embedding scale to the weights' dtype). */
function roundToDtype(x: number, dtype: FloatDtype): number {
  if (dtype === 'BF16') return bf16BitsToNumber(numberToBf16Bits(x));
  if (dtype === 'F16') return f16BitsToNumber(numberToF16Bits(x));
  return Math.fround(x);
}

function ropeObject(v: unknown, key: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`"${key}" must be an object`);
  return v as Record<string, unknown>;
}

/** A Gemma RoPE entry's linear factor: 1 for rope_type default (or none), `factor` for linear; others refused. */
function gemmaRopeFactor(r: Record<string, unknown> | null, key: string): number {
  if (!r) return 1;
  const type = r.rope_type ?? r.type ?? 'default';
  if (type === 'default') return 1;
  if (type !== 'linear') fail(`${key} type ${JSON.stringify(type)} is not supported for gemma3_text (supported: linear, or none)`);
  const factor = posNum(r, 'factor', 1);
  if (factor < 1) fail(`${key} factor (${factor}) must be at least 1`);
  return factor;
}

/**
 * gemma3_text's specifics and the full layers' RoPE base. RoPE comes either as transformers 4's
 * rope_theta / rope_local_base_freq / rope_scaling or as transformers 5's rope_parameters
 * {full_attention, sliding_attention}. Local layers never scale RoPE.
 */
function parseGemma(c: Record<string, unknown>, numLayers: number, hiddenSize: number, dtype: FloatDtype): { gemma: GemmaSpecifics; ropeTheta: number } {
  for (const k of ['final_logit_softcapping', 'attn_logit_softcapping']) {
    if (c[k] !== undefined && c[k] !== null) fail(`${k}: ${JSON.stringify(c[k])} is not supported (supported: null, as in every Gemma 3)`);
  }
  if (c.use_bidirectional_attention === true) fail('use_bidirectional_attention: true (EmbeddingGemma) is not supported (supported: causal attention)');
  if (c.attention_bias === true) fail('attention_bias: true is not supported for gemma3_text (supported: false, as in every Gemma 3)');
  const act = c.hidden_activation ?? c.hidden_act ?? 'gelu_pytorch_tanh';
  if (act !== 'gelu_pytorch_tanh') fail(`hidden_activation ${JSON.stringify(act)} is not supported for gemma3_text (supported: gelu_pytorch_tanh)`);
  let slidingLayers: boolean[];
  if (c.layer_types !== undefined && c.layer_types !== null) {
    const t = c.layer_types;
    if (!Array.isArray(t) || t.length !== numLayers || !t.every((x) => x === 'sliding_attention' || x === 'full_attention')) {
      fail(`layer_types must list "sliding_attention" or "full_attention" for each of the ${numLayers} layers`);
    }
    slidingLayers = t.map((x) => x === 'sliding_attention');
  } else {
    // transformers: every sliding_window_pattern-th layer is global, the rest local.
    const pattern = posInt(c, c.sliding_window_pattern !== undefined ? 'sliding_window_pattern' : '_sliding_window_pattern', 6);
    slidingLayers = Array.from({ length: numLayers }, (_, i) => (i + 1) % pattern !== 0);
  }
  let ropeTheta: number;
  let ropeLocalTheta: number;
  let ropeLinearFactor: number;
  if (c.rope_parameters !== undefined && c.rope_parameters !== null) {
    const rp = ropeObject(c.rope_parameters, 'rope_parameters');
    const full = ropeObject(rp.full_attention, 'rope_parameters.full_attention');
    const local = ropeObject(rp.sliding_attention, 'rope_parameters.sliding_attention');
    if (gemmaRopeFactor(local, 'rope_parameters.sliding_attention') !== 1) fail('rope_parameters.sliding_attention must not scale RoPE (supported: rope_type default)');
    ropeTheta = posNum(full, 'rope_theta', 1e6);
    ropeLocalTheta = posNum(local, 'rope_theta', 10000);
    ropeLinearFactor = gemmaRopeFactor(full, 'rope_parameters.full_attention');
  } else {
    ropeTheta = posNum(c, 'rope_theta', 1e6);
    ropeLocalTheta = posNum(c, 'rope_local_base_freq', 10000);
    ropeLinearFactor = gemmaRopeFactor(c.rope_scaling === undefined || c.rope_scaling === null ? null : ropeObject(c.rope_scaling, 'rope_scaling'), 'rope_scaling');
  }
  const gemma: GemmaSpecifics = {
    slidingLayers,
    slidingWindow: posInt(c, 'sliding_window', 4096),
    ropeLocalTheta,
    ropeLinearFactor,
    queryPreAttnScalar: posNum(c, 'query_pre_attn_scalar', 256),
    embedScale: roundToDtype(Math.sqrt(hiddenSize), dtype),
  };
  return { gemma, ropeTheta };
}

/** Parses and validates config.json (text or parsed object). */
export function parseModelConfig(input: string | unknown): ModelConfig {
  const c = parseJsonObject(input, fail);
  const arch = c.model_type;
  if (!SUPPORTED_ARCHITECTURES.includes(arch as Architecture)) {
    fail(`model_type ${JSON.stringify(arch)} is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(', ')}, e.g. SmolLM2, TinyLlama, Llama 3.2, Qwen2.5, Qwen3, Gemma 3)`);
  }
  const architecture = arch as Architecture;
  if (Array.isArray(c.architectures) && !c.architectures.includes(ARCH_CLASS[architecture])) {
    fail(`architectures ${JSON.stringify(c.architectures)} is not supported for ${architecture} (supported: ${ARCH_CLASS[architecture]})`);
  }
  const isGemma = architecture === 'gemma3_text';
  if (!isGemma) {
    const act = c.hidden_act ?? 'silu';
    if (act !== 'silu') fail(`hidden_act ${JSON.stringify(act)} is not supported (supported: silu)`);
  }
  if (c.mlp_bias === true) fail('mlp_bias: true is not supported (supported: MLP without biases)');
  if ((architecture === 'qwen2' || architecture === 'qwen3') && c.use_sliding_window === true) fail('use_sliding_window: true is not supported (supported: full attention)');
  // Qwen3 puts attention_bias on all four attention projections (o_proj too); every released
  // Qwen3 has it off, and the engine runs q/k/v biases only.
  if (architecture === 'qwen3' && c.attention_bias === true) fail('attention_bias: true is not supported for qwen3 (supported: false, as in every released Qwen3)');

  let dtype: FloatDtype = 'F32';
  const torchDtype = c.torch_dtype ?? c.dtype; // transformers 5 writes "dtype"
  if (torchDtype !== undefined && torchDtype !== null) {
    const d = dtypeFromTorch(String(torchDtype));
    if (!d) fail(`torch_dtype ${JSON.stringify(torchDtype)} is not supported (supported: float32, float16, bfloat16)`);
    dtype = d;
  }

  const hiddenSize = posInt(c, 'hidden_size');
  const numHeads = posInt(c, 'num_attention_heads');
  const numKvHeads = posInt(c, 'num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) fail(`num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  const headDimDefault = isGemma ? 256 : hiddenSize / numHeads; // Gemma3TextConfig's default head_dim is 256
  if (c.head_dim === undefined && !Number.isInteger(headDimDefault)) fail(`hidden_size (${hiddenSize}) is not divisible by num_attention_heads (${numHeads}) and no head_dim is given`);
  const headDim = posInt(c, 'head_dim', headDimDefault);
  if (headDim % 2 !== 0) fail(`head_dim (${headDim}) must be even for RoPE`);
  const numLayers = posInt(c, 'num_hidden_layers');
  const gemma = isGemma ? parseGemma(c, numLayers, hiddenSize, dtype) : null;

  return {
    architecture,
    hiddenSize,
    intermediateSize: posInt(c, 'intermediate_size'),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: posInt(c, 'vocab_size'),
    rmsNormEps: posNum(c, 'rms_norm_eps', 1e-6),
    ropeTheta: gemma?.ropeTheta ?? posNum(c, 'rope_theta', 10000),
    ropeScaling: isGemma ? null : parseRopeScaling(c.rope_scaling), // Gemma's linear scaling: gemma.ropeLinearFactor
    // HF's default is false for llama and qwen, true for Gemma 3.
    tieWordEmbeddings: isGemma ? c.tie_word_embeddings !== false : c.tie_word_embeddings === true,
    maxPositionEmbeddings: posInt(c, 'max_position_embeddings', 2048),
    attentionBias: architecture === 'qwen2' ? true : c.attention_bias === true,
    qkNorm: architecture === 'qwen3' || isGemma,
    gemma: gemma?.gemma ?? null,
    dtype,
    bosTokenId: tokenIds(c.bos_token_id, 'bos_token_id')[0] ?? null,
    eosTokenIds: tokenIds(c.eos_token_id, 'eos_token_id'),
  };
}

/**
 * config.json for a ModelConfig (the inverse of parseModelConfig): what a merged export of a
 * GGUF base writes, since a GGUF file carries no config.json of its own.
 */
export function modelConfigJson(cfg: ModelConfig): Record<string, unknown> {
  const s = cfg.ropeScaling;
  return {
    architectures: [ARCH_CLASS[cfg.architecture]],
    model_type: cfg.architecture,
    hidden_size: cfg.hiddenSize,
    intermediate_size: cfg.intermediateSize,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    num_key_value_heads: cfg.numKvHeads,
    head_dim: cfg.headDim,
    vocab_size: cfg.vocabSize,
    rms_norm_eps: cfg.rmsNormEps,
    rope_theta: cfg.ropeTheta,
    rope_scaling: s ? { rope_type: 'llama3', factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor, original_max_position_embeddings: s.originalMaxPositionEmbeddings } : null,
    tie_word_embeddings: cfg.tieWordEmbeddings,
    max_position_embeddings: cfg.maxPositionEmbeddings,
    ...(cfg.architecture === 'llama' ? { attention_bias: cfg.attentionBias } : {}),
    hidden_act: 'silu',
    torch_dtype: TORCH_DTYPE[cfg.dtype],
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenIds.length === 1 ? cfg.eosTokenIds[0] : cfg.eosTokenIds,
  };
}

/** The seven linear layers of a block, which LoRA may target. */
export const LINEAR_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LinearModule = (typeof LINEAR_MODULES)[number];

/**
 * The linear modules by the input they read (q/k/v the normed x, o its attention, gate/up the
 * second normed x, down the activation), in LINEAR_MODULES order: LoRA runs the down-projections
 * of one group, and their dA, as one dispatch each.
 */
export const SHARED_INPUT_GROUPS: readonly (readonly LinearModule[])[] = [['q_proj', 'k_proj', 'v_proj'], ['o_proj'], ['gate_proj', 'up_proj'], ['down_proj']];

/** The group of SHARED_INPUT_GROUPS that `m` belongs to. */
export function inputGroupOf(m: LinearModule): readonly LinearModule[] {
  return SHARED_INPUT_GROUPS.find((g) => g.includes(m))!;
}

export function isLinearModule(s: unknown): s is LinearModule {
  return (LINEAR_MODULES as readonly unknown[]).includes(s);
}

/** Parent module of each linear layer in HF naming. */
export function moduleParent(m: LinearModule): 'self_attn' | 'mlp' {
  return m.endsWith('_proj') && (m === 'gate_proj' || m === 'up_proj' || m === 'down_proj') ? 'mlp' : 'self_attn';
}

/** HF weight name of a linear layer, e.g. model.layers.3.self_attn.q_proj.weight. */
export function linearWeightName(layer: number, m: LinearModule): string {
  return `model.layers.${layer}.${moduleParent(m)}.${m}.weight`;
}

/** Whether an HF tensor name is one of the seven linear weights of a layer. */
export function isLinearWeight(name: string): boolean {
  const m = /^model\.layers\.\d+\.(self_attn|mlp)\.([a-z_]+)\.weight$/.exec(name);
  return !!m && isLinearModule(m[2]) && moduleParent(m[2]) === m[1];
}

/** in/out features of a linear layer ([out, in] weight). */
export function linearShape(cfg: ModelConfig, m: LinearModule): { inFeatures: number; outFeatures: number } {
  const C = cfg.hiddenSize;
  const F = cfg.intermediateSize;
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  switch (m) {
    case 'q_proj':
      return { inFeatures: C, outFeatures: q };
    case 'k_proj':
    case 'v_proj':
      return { inFeatures: C, outFeatures: kv };
    case 'o_proj':
      return { inFeatures: q, outFeatures: C };
    case 'gate_proj':
    case 'up_proj':
      return { inFeatures: C, outFeatures: F };
    case 'down_proj':
      return { inFeatures: F, outFeatures: C };
  }
}

export const QK_NORMS = ['q_norm', 'k_norm'] as const;

/** HF name of a layer's per-head q or k norm weight (qwen3), e.g. model.layers.3.self_attn.q_norm.weight. */
export function qkNormName(layer: number, n: (typeof QK_NORMS)[number]): string {
  return `model.layers.${layer}.self_attn.${n}.weight`;
}

/**
 * Gemma 3's two extra norms of a layer: the MLP's input norm is pre_feedforward_layernorm (its
 * post_attention_layernorm norms the attention output instead) and post_feedforward_layernorm
 * norms the MLP output, each before its residual add.
 */
export const GEMMA_FF_NORMS = ['pre_feedforward_layernorm', 'post_feedforward_layernorm'] as const;

/** HF name of a layer norm weight, e.g. model.layers.3.input_layernorm.weight. */
export function layerNormName(layer: number, n: 'input_layernorm' | 'post_attention_layernorm' | (typeof GEMMA_FF_NORMS)[number]): string {
  return `model.layers.${layer}.${n}.weight`;
}

/** The subset of a config the block's math depends on per layer (ModelShape in the reference is one). */
export interface BlockVariant {
  headDim: number;
  ropeTheta: number;
  ropeScaling?: Llama3RopeScaling | null;
  gemma?: GemmaSpecifics | null;
}

/** What every RMSNorm adds to its weight: Gemma scales by (1 + w), the others by w. */
export function normOffset(cfg: Pick<BlockVariant, 'gemma'>): 0 | 1 {
  return cfg.gemma ? 1 : 0;
}

/** The gated MLP's activation: GELU-tanh (Gemma's gelu_pytorch_tanh) or SiLU. */
export function gatedActivation(cfg: Pick<BlockVariant, 'gemma'>): 'silu' | 'gelu_tanh' {
  return cfg.gemma ? 'gelu_tanh' : 'silu';
}

/** The RoPE table a layer rotates with: base, llama3 scaling and a linear factor (inv_freq / factor). */
export interface RopeTable {
  theta: number;
  scaling: Llama3RopeScaling | null;
  linearFactor: number;
}

/**
 * How layer l attends, the one definition for the reference and the GPU: its RoPE table
 * ('global': rope_theta with the model's scaling; 'local': Gemma's sliding layers,
 * rope_local_base_freq unscaled), its sliding window (undefined = full causal) and its score
 * scale (undefined = 1/√D).
 */
export function layerAttention(cfg: BlockVariant, l: number): { rope: 'global' | 'local'; window?: number; scale?: number } {
  const g = cfg.gemma;
  if (!g) return { rope: 'global' };
  const local = g.slidingLayers[l];
  if (local === undefined) throw new Error(`layer ${l} is outside the config's ${g.slidingLayers.length} layer types`);
  return { rope: local ? 'local' : 'global', window: local ? g.slidingWindow : undefined, scale: 1 / Math.sqrt(g.queryPreAttnScalar) };
}

/** The parameters of one of the model's RoPE tables (gemma has two, the others only 'global'). */
export function ropeTable(cfg: BlockVariant, which: 'global' | 'local'): RopeTable {
  const g = cfg.gemma;
  if (which === 'local') {
    if (!g) throw new Error('only gemma3_text has a local RoPE table');
    return { theta: g.ropeLocalTheta, scaling: null, linearFactor: 1 };
  }
  return { theta: cfg.ropeTheta, scaling: cfg.ropeScaling ?? null, linearFactor: g?.ropeLinearFactor ?? 1 };
}

export interface ExpectedTensor {
  name: string;
  shape: number[];
}

/** Every tensor the HF checkpoint must contain, with its shape, in a stable order. */
export function expectedTensors(cfg: ModelConfig): ExpectedTensor[] {
  const C = cfg.hiddenSize;
  const out: ExpectedTensor[] = [{ name: 'model.embed_tokens.weight', shape: [cfg.vocabSize, C] }];
  for (let i = 0; i < cfg.numLayers; i++) {
    out.push({ name: `model.layers.${i}.input_layernorm.weight`, shape: [C] });
    for (const m of LINEAR_MODULES) {
      const { inFeatures, outFeatures } = linearShape(cfg, m);
      out.push({ name: linearWeightName(i, m), shape: [outFeatures, inFeatures] });
      if (cfg.attentionBias && (m === 'q_proj' || m === 'k_proj' || m === 'v_proj')) {
        out.push({ name: `model.layers.${i}.self_attn.${m}.bias`, shape: [outFeatures] });
      }
    }
    if (cfg.qkNorm) for (const n of QK_NORMS) out.push({ name: qkNormName(i, n), shape: [cfg.headDim] });
    out.push({ name: `model.layers.${i}.post_attention_layernorm.weight`, shape: [C] });
    if (cfg.gemma) for (const n of GEMMA_FF_NORMS) out.push({ name: layerNormName(i, n), shape: [C] });
  }
  out.push({ name: 'model.norm.weight', shape: [C] });
  if (!cfg.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [cfg.vocabSize, C] });
  return out;
}

/**
 * Checks a checkpoint's tensor list against the config: every expected tensor present with
 * its shape. A tied model may still ship lm_head.weight (some exports do); other extra
 * tensors are reported, except rotary caches which some checkpoints carry.
 */
export function checkTensorShapes(cfg: ModelConfig, actual: ReadonlyMap<string, readonly number[]>): void {
  const problems: string[] = [];
  const expected = expectedTensors(cfg);
  const expectedNames = new Set(expected.map((e) => e.name));
  for (const e of expected) {
    const got = actual.get(e.name);
    if (!got) problems.push(`missing ${e.name} [${e.shape.join(', ')}]`);
    else if (got.length !== e.shape.length || got.some((d, i) => d !== e.shape[i])) {
      problems.push(`${e.name} is [${got.join(', ')}], config says [${e.shape.join(', ')}]`);
    }
  }
  for (const name of actual.keys()) {
    if (expectedNames.has(name) || name.endsWith('rotary_emb.inv_freq') || (cfg.tieWordEmbeddings && name === 'lm_head.weight')) continue;
    problems.push(`unexpected tensor ${name}`);
  }
  if (problems.length) {
    const shown = problems.slice(0, 8).join('; ');
    throw new ModelConfigError(`checkpoint does not match config.json (${cfg.architecture}): ${shown}${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}`);
  }
}

/** Total parameters of the base model (tied embeddings counted once). */
export function parameterCount(cfg: ModelConfig): number {
  return expectedTensors(cfg).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
}

/** Parameters of a LoRA adapter of rank r on the given modules of every layer. */
export function loraParameterCount(cfg: ModelConfig, r: number, targets: readonly LinearModule[]): number {
  let perLayer = 0;
  for (const m of targets) {
    const { inFeatures, outFeatures } = linearShape(cfg, m);
    perLayer += r * (inFeatures + outFeatures);
  }
  return perLayer * cfg.numLayers;
}
