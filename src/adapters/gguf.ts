// llama.cpp / Ollama exports in GGUF: the base model (F32, with tokenizer metadata), a LoRA
// adapter, and a merged model; plus the Ollama Modelfile. Follows convert_hf_to_gguf.py and
// convert_lora_to_gguf.py (tensor names, q/k row permutation, KV set) as listed in FORMATS.md.
import { addsBosToken } from '../engine/model/bos-token';
import { parseJsonObject } from '../engine/model/json';
import { type ModelConfig, expectedTensors, linearWeightName } from '../engine/model/config';
import { type GgufKv, type GgufTensorSpec, collectChunks, ggufChunks, kv } from '../engine/model/gguf-format';
import { GGUF_MODULE, ggufArchitecture, ggufNormShift, ggufTensorName, llama3Factors, permuteRowsForRope, ropePermuteHeads } from '../engine/model/gguf-model';
import type { FloatDtype } from '../engine/model/dtype';
import { GGML_BLOCK, type GgmlType, type QuantType } from '../engine/model/quant';
import { type LoraAdapter, LoraAdapterError, adaptedModules, loraScaling, mergeIntoWeight, validateAdapter } from './lora';

/** Anything that yields base weights as float32 by HF name (a SafetensorsFile, a sharded model, a Map wrapper). */
export interface WeightSource {
  readF32(name: string): Promise<Float32Array>;
}

/**
 * Hyperparameter KVs llama.cpp reads (prefix = GGUF architecture): the common set, plus for
 * gemma3 the sliding window (absent when no layer slides) and linear RoPE scaling of the global
 * layers, as convert_hf_to_gguf.py's Gemma3Model writes them.
 */
export function modelKvs(cfg: ModelConfig, opts: { name?: string; fileType?: number } = {}): GgufKv[] {
  const a = ggufArchitecture(cfg);
  const out: GgufKv[] = [
    kv.str('general.architecture', a),
    kv.u32('general.alignment', 32),
  ];
  if (opts.name) out.push(kv.str('general.name', opts.name));
  out.push(
    kv.u32('general.file_type', opts.fileType ?? 0),
    kv.u32(`${a}.context_length`, cfg.maxPositionEmbeddings),
    kv.u32(`${a}.embedding_length`, cfg.hiddenSize),
    kv.u32(`${a}.block_count`, cfg.numLayers),
    kv.u32(`${a}.feed_forward_length`, cfg.intermediateSize),
    kv.u32(`${a}.rope.dimension_count`, cfg.headDim),
    kv.u32(`${a}.attention.head_count`, cfg.numHeads),
    kv.u32(`${a}.attention.head_count_kv`, cfg.numKvHeads),
    kv.u32(`${a}.attention.key_length`, cfg.headDim),
    kv.u32(`${a}.attention.value_length`, cfg.headDim),
    kv.f32(`${a}.attention.layer_norm_rms_epsilon`, cfg.rmsNormEps),
    kv.f32(`${a}.rope.freq_base`, cfg.ropeTheta),
    kv.u32(`${a}.vocab_size`, cfg.vocabSize),
  );
  const g = cfg.gemma;
  if (g?.slidingLayers.some(Boolean)) out.push(kv.u32(`${a}.attention.sliding_window`, g.slidingWindow));
  if (g && g.ropeLinearFactor !== 1) out.push(kv.str(`${a}.rope.scaling.type`, 'linear'), kv.f32(`${a}.rope.scaling.factor`, g.ropeLinearFactor));
  return out;
}

// ---- tokenizer metadata ----

/** Hugging Face tokenizer files as read from the model folder (text or parsed JSON). */
export interface TokenizerFiles {
  tokenizerJson: string | unknown;
  tokenizerConfig?: string | unknown | null;
  generationConfig?: string | unknown | null;
}

const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

function asJson(x: unknown, what: string): Record<string, unknown> {
  return parseJsonObject(x, (problem, cause) => {
    throw new Error(`GGUF export: ${what} is ${problem}`, { cause });
  });
}

/**
 * llama.cpp's pre-tokenizer name for a byte-level BPE tokenizer.json. Recognises GPT-2's plain
 * ByteLevel, SmolLM's Digits + ByteLevel and Qwen2's split regex; other tokenizers need `pre`.
 */
export function detectPreTokenizer(tok: Record<string, unknown>): string {
  const pt = tok.pre_tokenizer as { type?: string; pretokenizers?: Array<Record<string, unknown>>; use_regex?: boolean } | null;
  if (pt?.type === 'ByteLevel' && pt.use_regex !== false) return 'gpt-2';
  if (pt?.type === 'Sequence' && Array.isArray(pt.pretokenizers)) {
    const types = pt.pretokenizers.map((p) => p.type);
    if (types.length === 2 && types[0] === 'Digits' && pt.pretokenizers[0].individual_digits === true && types[1] === 'ByteLevel') return 'smollm';
    const split = pt.pretokenizers.find((p) => p.type === 'Split');
    const re = (split?.pattern as { Regex?: string } | undefined)?.Regex ?? '';
    if (re.includes("(?i:'s|'t|'re|'ve|'m|'ll|'d)") && re.includes('\\p{N}|')) return 'qwen2';
  }
  throw new Error('GGUF export: cannot tell which llama.cpp pre-tokenizer matches this tokenizer.json (recognised: GPT-2 ByteLevel, SmolLM, Qwen2); pass `pre` explicitly');
}

function tokenContent(t: unknown): string | null {
  if (typeof t === 'string') return t;
  if (t && typeof t === 'object' && typeof (t as { content?: unknown }).content === 'string') return (t as { content: string }).content;
  return null;
}

const SPIECE_UNDERLINE = '▁';

/**
 * Whether a SentencePiece-style tokenizer.json prepends "▁" to the text (llama.cpp's
 * add_space_prefix): Llama 2's normalizer is Prepend("▁") then Replace(" ", "▁"); Gemma's is the
 * Replace alone. Other normalizers are refused: llama.cpp's SPM tokenizer does only these.
 */
function spmSpacePrefix(tok: Record<string, unknown>): boolean {
  const n = tok.normalizer as { type?: string; normalizers?: Array<{ type?: string; prepend?: string; pattern?: { String?: string }; content?: string }> } | null;
  const isReplace = (x: { type?: string; pattern?: { String?: string }; content?: string } | undefined) => x?.type === 'Replace' && x.pattern?.String === ' ' && x.content === SPIECE_UNDERLINE;
  if (tok.pre_tokenizer == null) {
    if (isReplace(n ?? undefined)) return false;
    const list = n?.type === 'Sequence' ? n.normalizers ?? [] : [];
    if (list.length === 2 && list[0].type === 'Prepend' && list[0].prepend === SPIECE_UNDERLINE && isReplace(list[1])) return true;
  }
  throw new Error('GGUF export: this SentencePiece-style tokenizer.json normalizes text in a way llama.cpp\'s SPM tokenizer does not (supported: Replace(" ", "▁") as Gemma, Prepend("▁") + Replace as Llama 2, no pre-tokenizer)');
}

/**
 * tokenizer.ggml.* KVs from a tokenizer.json: a byte-level BPE is llama.cpp's "gpt2" model (tokens
 * and merges); a SentencePiece-style BPE with byte fallback (Gemma, Llama 2) its "llama" (SPM)
 * model, whose merge order is a score per token: llama.cpp merges the adjacent pair whose
 * concatenation has the highest score, so a token's score is minus the rank of the first merge
 * that makes it (tokens no merge makes: 0, as SentencePiece's own user-defined pieces).
 */
export function tokenizerKvs(cfg: ModelConfig, files: TokenizerFiles, opts: { pre?: string } = {}): GgufKv[] {
  const tok = asJson(files.tokenizerJson, 'tokenizer.json');
  const tcfg = files.tokenizerConfig ? asJson(files.tokenizerConfig, 'tokenizer_config.json') : {};
  const gcfg = files.generationConfig ? asJson(files.generationConfig, 'generation_config.json') : {};
  const model = tok.model as { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]> } | undefined;
  if (model?.type !== 'BPE' || !model.vocab || !Array.isArray(model.merges)) {
    throw new Error(`GGUF export: tokenizer.json model type ${JSON.stringify(model?.type)} is not supported (supported: byte-level BPE)`);
  }
  const spm = (model as { byte_fallback?: unknown }).byte_fallback === true;
  const spacePrefix = spm && spmSpacePrefix(tok);
  const unk = typeof (model as { unk_token?: unknown }).unk_token === 'string' ? (model as { unk_token: string }).unk_token : null;
  const byId = new Map<number, string>();
  for (const [t, id] of Object.entries(model.vocab)) byId.set(id, t);
  const added = new Map<number, { content: string; special: boolean }>();
  for (const a of (tok.added_tokens as Array<{ id: number; content: string; special?: boolean }> | undefined) ?? []) {
    byId.set(a.id, a.content);
    added.set(a.id, { content: a.content, special: a.special === true });
  }
  const maxId = Math.max(...byId.keys());
  if (maxId >= cfg.vocabSize) throw new Error(`GGUF export: tokenizer has token id ${maxId} but config vocab_size is ${cfg.vocabSize}`);
  const tokens: string[] = [];
  const types: number[] = [];
  for (let i = 0; i < cfg.vocabSize; i++) {
    const t = byId.get(i);
    if (t === undefined) {
      tokens.push(`[PAD${i}]`);
      types.push(TOKEN_TYPE.UNUSED);
    } else {
      tokens.push(t);
      const a = added.get(i);
      if (spm && t === unk) types.push(TOKEN_TYPE.UNKNOWN);
      else if (a) types.push(a.special ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED);
      else types.push(spm && /^<0x[0-9A-F]{2}>$/.test(t) ? TOKEN_TYPE.BYTE : TOKEN_TYPE.NORMAL);
    }
  }
  const merges = model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const idOf = (content: string | null): number | null => {
    if (content === null) return null;
    for (const [id, t] of byId) if (t === content) return id;
    return null;
  };
  const firstId = (v: unknown): number | null => (Array.isArray(v) ? (v[0] as number) : typeof v === 'number' ? v : null);
  const eos = idOf(tokenContent(tcfg.eos_token)) ?? firstId(gcfg.eos_token_id) ?? cfg.eosTokenIds[0] ?? null;
  const bos = idOf(tokenContent(tcfg.bos_token)) ?? firstId(gcfg.bos_token_id) ?? cfg.bosTokenId;
  const pad = idOf(tokenContent(tcfg.pad_token)) ?? firstId(gcfg.pad_token_id);
  const out: GgufKv[] = [];
  if (spm) {
    const firstRank = new Map<string, number>();
    merges.forEach((m, r) => {
      const t = m.replace(' ', ''); // merges are "left right"; SentencePiece pieces hold no spaces
      if (!firstRank.has(t)) firstRank.set(t, r);
    });
    const unkId = idOf(unk);
    out.push(
      kv.str('tokenizer.ggml.model', 'llama'),
      kv.str('tokenizer.ggml.pre', 'default'),
      kv.arr('tokenizer.ggml.tokens', 'string', tokens),
      kv.arr('tokenizer.ggml.scores', 'f32', tokens.map((t) => (firstRank.has(t) ? -firstRank.get(t)! : 0))),
      kv.arr('tokenizer.ggml.token_type', 'i32', types),
      kv.bool('tokenizer.ggml.add_space_prefix', spacePrefix),
    );
    if (unkId !== null) out.push(kv.u32('tokenizer.ggml.unknown_token_id', unkId));
  } else {
    out.push(
      kv.str('tokenizer.ggml.model', 'gpt2'),
      kv.str('tokenizer.ggml.pre', opts.pre ?? detectPreTokenizer(tok)),
      kv.arr('tokenizer.ggml.tokens', 'string', tokens),
      kv.arr('tokenizer.ggml.token_type', 'i32', types),
      kv.arr('tokenizer.ggml.merges', 'string', merges),
    );
  }
  if (bos !== null) out.push(kv.u32('tokenizer.ggml.bos_token_id', bos));
  if (eos !== null) out.push(kv.u32('tokenizer.ggml.eos_token_id', eos));
  if (pad !== null) out.push(kv.u32('tokenizer.ggml.padding_token_id', pad));
  out.push(kv.bool('tokenizer.ggml.add_bos_token', addsBosToken(tcfg, tok, tokenContent(tcfg.bos_token))));
  if (typeof tcfg.chat_template === 'string') out.push(kv.str('tokenizer.chat_template', tcfg.chat_template));
  return out;
}

// ---- base and merged model ----

export interface BaseGgufOptions {
  /** general.name */
  name?: string;
  /** llama.cpp pre-tokenizer name; detected from tokenizer.json when absent. */
  pre?: string;
  /**
   * Type of the 2-D weights (norms and biases stay F32, as llama.cpp requires): F32 (default),
   * F16, BF16, a block type with ggml's reference quantizers, or llama.cpp's Q4_K_M mix (see
   * ggufWeightType).
   */
  type?: GgufWeightType;
  /** Fold this adapter into the weights (a merged model). */
  merge?: LoraAdapter;
}

/** The weight types of a GGUF file: one type for every 2-D weight, or llama-quantize's Q4_K_M mix. */
export type GgufWeightType = FloatDtype | QuantType | 'Q4_K_M';

/** llama.cpp's general.file_type (enum llama_ftype) of such a file (all-Q4_K is its nearest, Q4_K_S). */
const LLAMA_FTYPE: Record<GgufWeightType, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, Q4_K: 14, Q4_K_M: 15, Q6_K: 18, BF16: 32 };

/** llama-quantize's use_more_bits: the first and last eighth of the layers, and every third between. */
const useMoreBits = (i: number, n: number): boolean => i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;

/**
 * The type of one 2-D weight (HF name, torch shape) in a file of `type`. Q4_K_M is what
 * llama-quantize picks without an importance matrix (llama_tensor_get_type): the LM head (the
 * token embedding when tied) Q6_K; v_proj and down_proj Q6_K on the layers useMoreBits picks;
 * the rest Q4_K. A k-quant needs rows of whole 256-value blocks: other rows get Q8_0, as
 * llama.cpp does for Q6_K and the LM head (for Q4_K it picks Q5_0, which the studio does not read).
 */
export function ggufWeightType(cfg: ModelConfig, type: GgufWeightType, name: string, shape: readonly number[]): GgmlType {
  let t: GgmlType = type === 'Q4_K_M' ? 'Q4_K' : type;
  if (type === 'Q4_K_M') {
    const layer = /^model\.layers\.(\d+)\.(?:self_attn\.v_proj|mlp\.down_proj)\.weight$/.exec(name);
    if (name === 'lm_head.weight' || (cfg.tieWordEmbeddings && name === 'model.embed_tokens.weight')) t = 'Q6_K';
    else if (layer && useMoreBits(Number(layer[1]), cfg.numLayers)) t = 'Q6_K';
  }
  if ((t === 'Q4_K' || t === 'Q6_K') && shape[shape.length - 1] % GGML_BLOCK[t].values) t = 'Q8_0';
  return t;
}

/**
 * Streams a GGUF of the base model (or of base + LoRA merged when `opts.merge` is set),
 * reading one weight at a time from `weights`.
 */
export function baseGgufChunks(cfg: ModelConfig, weights: WeightSource, tokenizer: TokenizerFiles, opts: BaseGgufOptions = {}): AsyncGenerator<Uint8Array> {
  const type = opts.type ?? 'F32';
  if (opts.merge) validateAdapter(opts.merge, cfg);
  const merged = opts.merge ? mergedWeightSource(cfg, weights, opts.merge) : weights;
  const kvs = [...modelKvs(cfg, { name: opts.name, fileType: LLAMA_FTYPE[type] }), ...tokenizerKvs(cfg, tokenizer, { pre: opts.pre })];
  const specs: GgufTensorSpec[] = [];
  const source = new Map<string, () => Promise<Float32Array>>();
  const ropeFactors = cfg.ropeScaling ? llama3Factors(cfg.ropeScaling, cfg.ropeTheta, cfg.headDim) : null;
  if (ropeFactors) {
    specs.push({ name: 'rope_freqs.weight', shape: [ropeFactors.length], type: 'F32' });
    source.set('rope_freqs.weight', async () => ropeFactors);
  }
  for (const t of expectedTensors(cfg)) {
    const name = ggufTensorName(t.name, cfg.architecture);
    specs.push({ name, shape: t.shape, type: t.shape.length === 2 ? ggufWeightType(cfg, type, t.name, t.shape) : 'F32' });
    const heads = ropePermuteHeads(cfg, t.name);
    const shift = ggufNormShift(cfg, t.name);
    source.set(name, async () => {
      const x = await merged.readF32(t.name);
      if (shift) return x.map((v) => v + shift); // a copy: never modify the source's array
      return heads ? permuteRowsForRope(x, t.shape[0], t.shape.length === 2 ? t.shape[1] : 1, heads) : x;
    });
  }
  return ggufChunks(kvs, specs, (s) => source.get(s.name)!());
}

export async function exportBaseGguf(cfg: ModelConfig, weights: WeightSource, tokenizer: TokenizerFiles, opts: BaseGgufOptions = {}): Promise<Uint8Array> {
  return collectChunks(baseGgufChunks(cfg, weights, tokenizer, opts));
}

/** A WeightSource that returns W + scaling·B·A for the adapted linears. */
export function mergedWeightSource(cfg: ModelConfig, weights: WeightSource, adapter: LoraAdapter): WeightSource {
  validateAdapter(adapter, cfg);
  const scaling = loraScaling(adapter.config);
  const adapted = new Map<string, Parameters<typeof mergeIntoWeight>[1]>();
  for (const [i, m, w] of adaptedModules(adapter)) adapted.set(linearWeightName(i, m), w);
  return {
    readF32: async (name) => {
      const w = adapted.get(name);
      const x = await weights.readF32(name);
      if (!w) return x;
      const out = x.slice(); // never modify the caller's array
      mergeIntoWeight(out, w, adapter.config.r, scaling);
      return out;
    },
  };
}

// ---- LoRA adapter ----

/**
 * The alpha to write so that llama.cpp's scale alpha/r equals PEFT's scaling:
 * alpha for plain LoRA, alpha·√r for rsLoRA.
 */
export function ggufLoraAlpha(config: LoraAdapter['config']): number {
  return loraScaling(config) * config.r;
}

/** A llama.cpp LoRA GGUF (general.type=adapter) for the given base config. F32 tensors. */
export async function exportLoraGguf(adapter: LoraAdapter, cfg: ModelConfig, opts: { name?: string } = {}): Promise<Uint8Array> {
  validateAdapter(adapter, cfg);
  const r = adapter.config.r;
  const kvs: GgufKv[] = [
    kv.str('general.architecture', ggufArchitecture(cfg)),
    kv.str('general.type', 'adapter'),
    kv.u32('general.alignment', 32),
  ];
  if (opts.name) kvs.push(kv.str('general.name', opts.name));
  // The base model the adapter belongs to, as convert_lora_to_gguf.py writes it (GGUF naming spec).
  const base = adapter.config.baseModel;
  if (base) {
    kvs.push(kv.u32('general.base_model.count', 1), kv.str('general.base_model.0.name', base.split('/').pop()!));
    if (base.includes('/')) kvs.push(kv.str('general.base_model.0.organization', base.split('/')[0]), kv.str('general.base_model.0.repo_url', `https://huggingface.co/${base}`));
  }
  kvs.push(kv.u32('general.file_type', 0), kv.str('adapter.type', 'lora'), kv.f32('adapter.lora.alpha', ggufLoraAlpha(adapter.config)));
  const specs: GgufTensorSpec[] = [];
  const data = new Map<string, Float32Array>();
  for (const [i, m, w] of adaptedModules(adapter)) {
    const base = `blk.${i}.${GGUF_MODULE[m]}.weight`;
    specs.push({ name: `${base}.lora_a`, shape: [r, w.inFeatures], type: 'F32' });
    specs.push({ name: `${base}.lora_b`, shape: [w.outFeatures, r], type: 'F32' });
    const heads = ropePermuteHeads(cfg, linearWeightName(i, m));
    data.set(`${base}.lora_a`, w.A);
    data.set(`${base}.lora_b`, heads ? permuteRowsForRope(w.B, w.outFeatures, r, heads) : w.B);
  }
  if (!specs.length) throw new LoraAdapterError('GGUF export: the adapter has no LoRA weights');
  return collectChunks(ggufChunks(kvs, specs, (s) => data.get(s.name)!));
}

/**
 * An Ollama Modelfile that applies the adapter to a base model. Ollama reads lora_alpha as an
 * integer when it converts adapters itself; a GGUF adapter carries the float, but a note is
 * added when the effective alpha is not integral.
 */
export function ollamaModelfile(opts: { from: string; adapterFile: string; adapter: LoraAdapter; system?: string }): string {
  const alpha = ggufLoraAlpha(opts.adapter.config);
  const lines = [`FROM ${opts.from}`, `ADAPTER ${opts.adapterFile}`];
  if (!Number.isInteger(alpha)) {
    lines.unshift(
      `# Note: the effective lora_alpha is ${alpha} (not an integer). The GGUF adapter stores it as a float;`,
      `# if you import the PEFT folder into Ollama instead, it reads lora_alpha as an integer and the scale changes.`,
    );
  }
  if (opts.system) lines.push(`SYSTEM """${opts.system.replaceAll('"""', '\\"\\"\\"')}"""`);
  return lines.join('\n') + '\n';
}
