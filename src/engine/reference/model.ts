// float64 CPU reference of a Llama-family causal LM with LoRA adapters (training forward and
// backward). It is the ground truth the GPU model and the llama.cpp export tests compare
// against, so it is written for clarity, not speed. It composes the per-op references
// (rmsnorm, matmul, lora, rope, attention, swiglu, residual, crossentropy, embedding) through
// RefGraph (graph.ts), which records each op's reference backward; so `decoderBlock` below is
// the one definition of a block, and its backward is derived from it, not written again.
//
//   embedding → L × [RMSNorm → q,k,v (+bias) → (qwen3: per-head RMSNorm of q and k over D)
//   → RoPE (rotate_half) → causal GQA attention
//   with segment ids → o_proj → residual → RMSNorm → SwiGLU MLP → residual] → RMSNorm →
//   LM head (tied or separate) → softmax cross-entropy (ignore index -100, mean).
//
// gemma3_text (cfg.gemma): embedding · √C; every RMSNorm scales by (1 + w); q/k norms; the
// attention output and the MLP output are each RMSNormed before their residual add; the MLP's
// input norm is pre_feedforward_layernorm; GELU-tanh gate; scores · query_pre_attn_scalar^-0.5;
// sliding-window layers attend to the last `sliding_window` keys with their own RoPE base.
//
// Every linear `y = W x (+ b)` may carry a LoRA branch `+ scaling · B (A x)` (PEFT shapes:
// A [R, in], B [out, R]; input dropout replayable through RefLora.dropoutFactor). Base
// weights are frozen: the backward returns gradients for the LoRA A and B tensors only.
//
// Shapes: B batch, T sequence, C hidden, H heads, KVH kv heads, D head dim, F mlp width,
// V vocab, R LoRA rank, L layers. Weights use Hugging Face names and [out, in] layouts.

import { type GemmaSpecifics, type Llama3RopeScaling, GEMMA_FF_NORMS, QK_NORMS, gatedActivation, layerAttention, layerNormName, normOffset, qkNormName, ropeTable } from '../model/config';
import { IGNORE_INDEX } from './crossentropy';
import { type LoraBranch, RefGraph } from './graph';
import { ropeInvFreq } from './rope';

export type { Llama3RopeScaling };
export { IGNORE_INDEX, ropeInvFreq };

/** The subset of ModelConfig (src/engine/model/config.ts) the model math needs. */
export interface ModelShape {
  hiddenSize: number; // C
  intermediateSize: number; // F
  numLayers: number; // L
  numHeads: number; // H
  numKvHeads: number; // KVH
  headDim: number; // D
  vocabSize: number; // V
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (qwen2). */
  attentionBias: boolean;
  ropeScaling?: Llama3RopeScaling | null;
  /** Per-head RMSNorm of q and k (weights [D]) before RoPE (qwen3, gemma3_text). */
  qkNorm?: boolean;
  /** gemma3_text's block variants; null/absent for the other families. */
  gemma?: GemmaSpecifics | null;
}

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** HF module path of a linear layer, e.g. `model.layers.0.self_attn.q_proj`. */
export function modulePath(layer: number, target: LoraTarget): string {
  const group = target === 'gate_proj' || target === 'up_proj' || target === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${group}.${target}`;
}

/** [out, in] of a target linear for this model. */
export function linearShape(cfg: ModelShape, target: LoraTarget): [number, number] {
  const C = cfg.hiddenSize;
  const qDim = cfg.numHeads * cfg.headDim;
  const kvDim = cfg.numKvHeads * cfg.headDim;
  switch (target) {
    case 'q_proj':
      return [qDim, C];
    case 'k_proj':
    case 'v_proj':
      return [kvDim, C];
    case 'o_proj':
      return [C, qDim];
    case 'gate_proj':
    case 'up_proj':
      return [cfg.intermediateSize, C];
    case 'down_proj':
      return [C, cfg.intermediateSize];
  }
}

/**
 * LoRA adapter in float64. `weights` maps `<modulePath>.lora_A.weight` ([R, in]) and
 * `<modulePath>.lora_B.weight` ([out, R]) for each adapted module; modules without both
 * entries are plain linears. The rank is A.length / in.
 */
export interface RefLora {
  scaling: number;
  weights: Map<string, Float64Array>;
  /**
   * Input dropout of the LoRA branch: the multiplier (0 or 1/(1-p)) of element `index`
   * (row·in + col) of a module's input. Absent = no dropout. Lets tests replay the GPU's masks.
   */
  dropoutFactor?: (layer: number, target: LoraTarget, index: number) => number;
}

/** A batch in the data pipeline's layout (src/data): targets already shifted, -100 = ignored. */
export interface RefBatch {
  B: number;
  T: number;
  inputIds: ArrayLike<number>; // [B·T]
  targets: ArrayLike<number>; // [B·T], next-token ids or -100
  positions: ArrayLike<number>; // [B·T], RoPE positions (restart per packed sequence)
  segmentIds: ArrayLike<number>; // [B·T], attend only within the same id, causally
}

export function loraKeyA(layer: number, target: LoraTarget): string {
  return `${modulePath(layer, target)}.lora_A.weight`;
}
export function loraKeyB(layer: number, target: LoraTarget): string {
  return `${modulePath(layer, target)}.lora_B.weight`;
}

// ---------------------------------------------------------------------------------------
// The model.

const NO_DROPOUT = { p: 0, seed: 0 };

/** Names and shapes of every base tensor the reference reads for this config (what `ModelParams` checks against). */
export function baseTensorShapes(cfg: ModelShape): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const C = cfg.hiddenSize;
  m.set('model.embed_tokens.weight', [cfg.vocabSize, C]);
  for (let l = 0; l < cfg.numLayers; l++) {
    m.set(`model.layers.${l}.input_layernorm.weight`, [C]);
    m.set(`model.layers.${l}.post_attention_layernorm.weight`, [C]);
    for (const t of LORA_TARGETS) m.set(`${modulePath(l, t)}.weight`, linearShape(cfg, t));
    if (cfg.attentionBias) {
      for (const t of ['q_proj', 'k_proj', 'v_proj'] as const) m.set(`${modulePath(l, t)}.bias`, [linearShape(cfg, t)[0]]);
    }
    if (cfg.qkNorm) for (const n of QK_NORMS) m.set(qkNormName(l, n), [cfg.headDim]);
    if (cfg.gemma) for (const n of GEMMA_FF_NORMS) m.set(layerNormName(l, n), [C]);
  }
  m.set('model.norm.weight', [C]);
  if (!cfg.tieWordEmbeddings) m.set('lm_head.weight', [cfg.vocabSize, C]);
  return m;
}

/** The model's tensors, read by name with the size `baseTensorShapes` declares for it. */
class ModelParams {
  private readonly shapes: Map<string, number[]>;
  /** RoPE inverse frequencies per table (config.ts ropeTable: gemma's local layers have their own). */
  readonly invFreq: { global: Float64Array; local: Float64Array | null };

  constructor(
    readonly cfg: ModelShape,
    private readonly weights: Map<string, Float64Array>,
    private readonly lora: RefLora | null,
  ) {
    this.shapes = baseTensorShapes(cfg);
    const table = (which: 'global' | 'local') => {
      const t = ropeTable(cfg, which);
      return ropeInvFreq({ headDim: cfg.headDim, ropeTheta: t.theta, ropeScaling: t.scaling, ropeLinearFactor: t.linearFactor });
    };
    this.invFreq = { global: table('global'), local: cfg.gemma ? table('local') : null };
  }

  /** A base tensor; a name the shapes do not declare is a bug in this file, so it throws too. */
  get(name: string): Float64Array {
    const shape = this.shapes.get(name);
    if (!shape) throw new Error(`reference model: ${name} is not a tensor of this config`);
    const size = shape.reduce((a, b) => a * b, 1);
    const w = this.weights.get(name);
    if (!w) throw new Error(`reference model: missing weight ${name}`);
    if (w.length !== size) throw new Error(`reference model: ${name} has ${w.length} elements, expected ${size}`);
    return w;
  }

  /** A target linear of layer l applied to x, with its bias and LoRA branch when present. */
  linear(g: RefGraph, l: number, target: LoraTarget, x: Float64Array): Float64Array {
    const name = modulePath(l, target);
    const bias = this.shapes.has(`${name}.bias`) ? this.get(`${name}.bias`) : null;
    return g.linear(x, this.get(`${name}.weight`), bias, linearShape(this.cfg, target)[0], this.loraBranch(l, target));
  }

  private loraBranch(l: number, target: LoraTarget): LoraBranch | null {
    const lora = this.lora;
    if (!lora) return null;
    const A = lora.weights.get(loraKeyA(l, target));
    const B = lora.weights.get(loraKeyB(l, target));
    if (!A && !B) return null;
    if (!A || !B) throw new Error(`reference model: LoRA for ${modulePath(l, target)} needs both A and B`);
    const [O, I] = linearShape(this.cfg, target);
    const R = A.length / I;
    if (!Number.isInteger(R) || R < 1 || B.length !== O * R) throw new Error(`reference model: LoRA ${modulePath(l, target)} shapes A ${A.length}, B ${B.length} do not fit [R, ${I}], [${O}, R]`);
    const df = lora.dropoutFactor;
    return { A, B, scaling: lora.scaling, dropout: df ? (i: number) => df(l, target, i) : NO_DROPOUT };
  }
}

/**
 * One decoder block, the single float64 definition of it: x [N, C] → x [N, C]. Its backward is
 * what RefGraph recorded. Architecture variants belong here as options of this function.
 */
function decoderBlock(g: RefGraph, p: ModelParams, l: number, x: Float64Array): Float64Array {
  const { cfg } = p;
  const eps = cfg.rmsNormEps;
  const offset = normOffset(cfg);
  const norm = (y: Float64Array, name: string) => g.rmsnorm(y, p.get(name), eps, offset);
  const { rope, ...attnOpts } = layerAttention(cfg, l);
  const invFreq = rope === 'local' ? p.invFreq.local! : p.invFreq.global;
  const h = norm(x, layerNormName(l, 'input_layernorm'));
  // qwen3, gemma: RMSNorm per head (rows N·heads of width D = the weight's length) before RoPE.
  const qkNorm = (y: Float64Array, n: (typeof QK_NORMS)[number]) => (cfg.qkNorm ? norm(y, qkNormName(l, n)) : y);
  const q = g.rope(qkNorm(p.linear(g, l, 'q_proj', h), 'q_norm'), invFreq);
  const k = g.rope(qkNorm(p.linear(g, l, 'k_proj', h), 'k_norm'), invFreq);
  const v = p.linear(g, l, 'v_proj', h);
  const att = g.attention(q, k, v, cfg.headDim, attnOpts);
  const attOut = p.linear(g, l, 'o_proj', att);
  // gemma: post_attention_layernorm norms the attention output; the MLP input norm is pre_feedforward_layernorm.
  const xMid = g.residual(x, cfg.gemma ? norm(attOut, layerNormName(l, 'post_attention_layernorm')) : attOut);
  const h2 = norm(xMid, layerNormName(l, cfg.gemma ? 'pre_feedforward_layernorm' : 'post_attention_layernorm'));
  const act = g.swiglu(p.linear(g, l, 'gate_proj', h2), p.linear(g, l, 'up_proj', h2), gatedActivation(cfg));
  const mlpOut = p.linear(g, l, 'down_proj', act);
  return g.residual(xMid, cfg.gemma ? norm(mlpOut, layerNormName(l, 'post_feedforward_layernorm')) : mlpOut);
}

/** The whole model on the graph: logits and the mean loss (lossScale only scales the gradient seed). */
function modelForward(g: RefGraph, p: ModelParams, batch: RefBatch, lossScale: number): RefForwardResult {
  const { cfg } = p;
  const V = cfg.vocabSize;
  let x = g.embedding(batch.inputIds, p.get('model.embed_tokens.weight'), V, cfg.gemma?.embedScale ?? 1);
  for (let l = 0; l < cfg.numLayers; l++) x = decoderBlock(g, p, l, x);
  const xf = g.rmsnorm(x, p.get('model.norm.weight'), cfg.rmsNormEps, normOffset(cfg));
  const logits = g.linear(xf, p.get(cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight'), null, V, null);
  return { logits, ...g.crossEntropy(logits, batch.targets, V, lossScale) };
}

export interface RefForwardResult {
  /** [B·T, V] */
  logits: Float64Array;
  /** mean cross-entropy over non-ignored targets (0 when there are none) */
  loss: number;
  numTargets: number;
}

/** Forward pass: logits and mean cross-entropy. `lora` null (or without entries) = the base model. */
export function referenceForward(cfg: ModelShape, weights: Map<string, Float64Array>, lora: RefLora | null, batch: RefBatch): RefForwardResult {
  return modelForward(new RefGraph(batch, false), new ModelParams(cfg, weights, lora), batch, 1);
}

export interface RefBackwardResult extends RefForwardResult {
  /** dLoss/d(LoRA tensor), same keys and shapes as lora.weights */
  grads: Map<string, Float64Array>;
}

/**
 * Forward and backward: gradients of the mean loss with respect to every LoRA A and B.
 * `lossScale` multiplies the loss before differentiation (e.g. 1/accumulation steps);
 * the returned loss is unscaled.
 */
export function referenceBackward(cfg: ModelShape, weights: Map<string, Float64Array>, lora: RefLora, batch: RefBatch, lossScale = 1): RefBackwardResult {
  const g = new RefGraph(batch, true);
  const result = modelForward(g, new ModelParams(cfg, weights, lora), batch, lossScale);
  g.backward();
  // LoRA tensors no module reads (or that got no gradient) are exact zeros, as before.
  const grads = new Map<string, Float64Array>();
  for (const [key, w] of lora.weights) grads.set(key, g.grad(w).slice());
  return { ...result, grads };
}
