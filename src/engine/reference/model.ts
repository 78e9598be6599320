// float64 CPU reference of a Llama-family causal LM with LoRA adapters (training forward and
// backward). It is the ground truth the GPU model and the llama.cpp export tests compare
// against, so it is written for clarity, not speed: plain loops over small shapes.
//
//   embedding → L × [RMSNorm → q,k,v (+bias) → RoPE (rotate_half) → causal GQA attention
//   with segment ids → o_proj → residual → RMSNorm → SwiGLU MLP → residual] → RMSNorm →
//   LM head (tied or separate) → softmax cross-entropy (ignore index -100, mean).
//
// Every linear `y = W x (+ b)` may carry a LoRA branch `+ scaling · B (A x)` (PEFT shapes:
// A [R, in], B [out, R]; dropout is p = 0 here). Base weights are frozen: the backward
// returns gradients for the LoRA A and B tensors only.
//
// Shapes: B batch, T sequence, C hidden, H heads, KVH kv heads, D head dim, F mlp width,
// V vocab, R LoRA rank, L layers. Weights use Hugging Face names and [out, in] layouts.

import type { Llama3RopeScaling } from '../model/config';

export type { Llama3RopeScaling };

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

export const IGNORE_INDEX = -100;

export function loraKeyA(layer: number, target: LoraTarget): string {
  return `${modulePath(layer, target)}.lora_A.weight`;
}
export function loraKeyB(layer: number, target: LoraTarget): string {
  return `${modulePath(layer, target)}.lora_B.weight`;
}

/** RoPE inverse frequencies [D/2], with the llama3 rope_scaling variant (as in HF transformers). */
export function ropeInvFreq(cfg: Pick<ModelShape, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float64Array {
  const D = cfg.headDim;
  const half = D / 2;
  const inv = new Float64Array(half);
  for (let j = 0; j < half; j++) inv[j] = 1 / Math.pow(cfg.ropeTheta, (2 * j) / D);
  const s = cfg.ropeScaling;
  if (!s) return inv;
  if (s.ropeType !== 'llama3') throw new Error(`rope_scaling type ${String(s.ropeType)} is not supported (only llama3)`);
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let j = 0; j < half; j++) {
    const wavelen = (2 * Math.PI) / inv[j];
    if (wavelen < highWavelen) continue; // high frequency: unchanged
    if (wavelen > lowWavelen) {
      inv[j] = inv[j] / s.factor;
    } else {
      const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      inv[j] = (1 - smooth) * (inv[j] / s.factor) + smooth * inv[j];
    }
  }
  return inv;
}

// ---------------------------------------------------------------------------------------
// Building blocks (forward + backward), float64, row-major.

function getW(weights: Map<string, Float64Array>, name: string, size: number): Float64Array {
  const w = weights.get(name);
  if (!w) throw new Error(`reference model: missing weight ${name}`);
  if (w.length !== size) throw new Error(`reference model: ${name} has ${w.length} elements, expected ${size}`);
  return w;
}

function rmsnormForward(out: Float64Array, rstd: Float64Array, inp: Float64Array, weight: Float64Array, N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += inp[n * C + c] ** 2;
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[n * C + c] = inp[n * C + c] * r * weight[c];
  }
}

/** dinp += d/dinp of rmsnorm (weight frozen). */
function rmsnormBackward(dinp: Float64Array, dout: Float64Array, inp: Float64Array, weight: Float64Array, rstd: Float64Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const r = rstd[n];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dout[n * C + c] * weight[c] * inp[n * C + c];
    const k = (r * r * r * dot) / C;
    for (let c = 0; c < C; c++) dinp[n * C + c] += r * dout[n * C + c] * weight[c] - k * inp[n * C + c];
  }
}

interface LinearCache {
  inp: Float64Array;
  /** The LoRA branch's input: inp after dropout (inp itself without dropout). */
  xd: Float64Array;
  h: Float64Array | null; // x·Aᵀ [N, R] when a LoRA is present
  A: Float64Array | null;
  B: Float64Array | null;
  R: number;
  drop?: ((index: number) => number) | null;
}

/** out[N, O] = inp[N, I] · Wᵀ (+ bias) (+ s · (inp·Aᵀ)·Bᵀ). */
function linearForward(out: Float64Array, inp: Float64Array, W: Float64Array, bias: Float64Array | null, A: Float64Array | null, Bm: Float64Array | null, scaling: number, N: number, I: number, O: number, drop: ((index: number) => number) | null = null): LinearCache {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < I; i++) s += inp[n * I + i] * W[o * I + i];
      out[n * O + o] = s;
    }
  }
  if (!A || !Bm) return { inp, xd: inp, h: null, A: null, B: null, R: 0 };
  const R = A.length / I;
  const xd = drop ? inp.map((x, i) => x * drop(i)) : inp;
  const h = new Float64Array(N * R);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < R; j++) {
      let s = 0;
      for (let i = 0; i < I; i++) s += xd[n * I + i] * A[j * I + i];
      h[n * R + j] = s;
    }
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let j = 0; j < R; j++) s += h[n * R + j] * Bm[o * R + j];
      out[n * O + o] += scaling * s;
    }
  }
  return { inp, xd, h, A, B: Bm, R, drop };
}

/** dinp += dout·W (+ LoRA path); dA, dB += LoRA gradients. */
function linearBackward(dinp: Float64Array, dA: Float64Array | null, dB: Float64Array | null, dout: Float64Array, W: Float64Array, cache: LinearCache, scaling: number, N: number, I: number, O: number): void {
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let o = 0; o < O; o++) s += dout[n * O + o] * W[o * I + i];
      dinp[n * I + i] += s;
    }
  }
  const { h, A, B: Bm, R, xd, drop } = cache;
  if (!h || !A || !Bm || !dA || !dB) return;
  const dh = new Float64Array(N * R);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < R; j++) {
      let s = 0;
      for (let o = 0; o < O; o++) s += dout[n * O + o] * Bm[o * R + j];
      dh[n * R + j] = scaling * s;
    }
  }
  for (let o = 0; o < O; o++) {
    for (let j = 0; j < R; j++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dout[n * O + o] * h[n * R + j];
      dB[o * R + j] += scaling * s;
    }
  }
  for (let j = 0; j < R; j++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dh[n * R + j] * xd[n * I + i];
      dA[j * I + i] += s;
    }
  }
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let j = 0; j < R; j++) s += dh[n * R + j] * A[j * I + i];
      dinp[n * I + i] += drop ? s * drop(n * I + i) : s;
    }
  }
}

/** In-place RoPE (HF rotate_half) on x [N, nh, D]; `inverse` applies the transpose (backward). */
function ropeApply(x: Float64Array, positions: ArrayLike<number>, invFreq: Float64Array, N: number, nh: number, D: number, inverse: boolean): void {
  const half = D / 2;
  const sign = inverse ? -1 : 1;
  for (let n = 0; n < N; n++) {
    const pos = positions[n];
    for (let j = 0; j < half; j++) {
      const a = pos * invFreq[j];
      const c = Math.cos(a);
      const s = sign * Math.sin(a);
      for (let hh = 0; hh < nh; hh++) {
        const base = (n * nh + hh) * D;
        const x1 = x[base + j];
        const x2 = x[base + j + half];
        x[base + j] = x1 * c - x2 * s;
        x[base + j + half] = x2 * c + x1 * s;
      }
    }
  }
}

/** Whether query t may attend to key u (same batch row): causal and same segment. */
function visible(seg: ArrayLike<number>, b: number, T: number, t: number, u: number): boolean {
  return u <= t && seg[b * T + u] === seg[b * T + t];
}

/** Causal GQA attention: out [B·T, H, D]; probs [B, H, T, T] kept for backward. */
function attentionForward(out: Float64Array, probs: Float64Array, q: Float64Array, k: Float64Array, v: Float64Array, seg: ArrayLike<number>, B: number, T: number, H: number, KVH: number, D: number): void {
  const scale = 1 / Math.sqrt(D);
  const group = H / KVH;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * H + h) * D;
        const prow = ((b * H + h) * T + t) * T;
        let mx = -Infinity;
        for (let u = 0; u < T; u++) {
          if (!visible(seg, b, T, t, u)) continue;
          const ko = ((b * T + u) * KVH + kh) * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[qo + d] * k[ko + d];
          probs[prow + u] = s * scale;
          mx = Math.max(mx, s * scale);
        }
        let sum = 0;
        for (let u = 0; u < T; u++) {
          if (!visible(seg, b, T, t, u)) {
            probs[prow + u] = 0;
            continue;
          }
          probs[prow + u] = Math.exp(probs[prow + u] - mx);
          sum += probs[prow + u];
        }
        for (let u = 0; u < T; u++) probs[prow + u] /= sum;
        for (let d = 0; d < D; d++) {
          let s = 0;
          for (let u = 0; u < T; u++) {
            const p = probs[prow + u];
            if (p !== 0) s += p * v[((b * T + u) * KVH + kh) * D + d];
          }
          out[qo + d] = s;
        }
      }
    }
  }
}

/** dq, dk, dv += attention gradients. */
function attentionBackward(dq: Float64Array, dk: Float64Array, dv: Float64Array, dout: Float64Array, probs: Float64Array, q: Float64Array, k: Float64Array, v: Float64Array, seg: ArrayLike<number>, B: number, T: number, H: number, KVH: number, D: number): void {
  const scale = 1 / Math.sqrt(D);
  const group = H / KVH;
  const dp = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * H + h) * D;
        const prow = ((b * H + h) * T + t) * T;
        let pdp = 0;
        for (let u = 0; u < T; u++) {
          dp[u] = 0;
          if (!visible(seg, b, T, t, u)) continue;
          const vo = ((b * T + u) * KVH + kh) * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += dout[qo + d] * v[vo + d];
          dp[u] = s;
          pdp += probs[prow + u] * s;
        }
        for (let u = 0; u < T; u++) {
          if (!visible(seg, b, T, t, u)) continue;
          const p = probs[prow + u];
          const ds = p * (dp[u] - pdp) * scale;
          const ko = ((b * T + u) * KVH + kh) * D;
          for (let d = 0; d < D; d++) {
            dq[qo + d] += ds * k[ko + d];
            dk[ko + d] += ds * q[qo + d];
            dv[ko + d] += p * dout[qo + d];
          }
        }
      }
    }
  }
}

function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

// ---------------------------------------------------------------------------------------
// The model.

interface LayerCache {
  xIn: Float64Array; // residual stream entering the layer
  ln1: Float64Array;
  rstd1: Float64Array;
  q: Float64Array; // post-RoPE
  k: Float64Array;
  v: Float64Array;
  probs: Float64Array;
  att: Float64Array;
  xMid: Float64Array; // after the attention residual
  ln2: Float64Array;
  rstd2: Float64Array;
  gate: Float64Array;
  up: Float64Array;
  act: Float64Array;
  lin: Partial<Record<LoraTarget, LinearCache>>;
}

interface ForwardState {
  layers: LayerCache[];
  xFinal: Float64Array;
  lnf: Float64Array;
  rstdf: Float64Array;
  logits: Float64Array;
  loss: number;
  numTargets: number;
}

function loraPair(lora: RefLora | null, layer: number, target: LoraTarget, cfg: ModelShape): [Float64Array | null, Float64Array | null] {
  if (!lora) return [null, null];
  const A = lora.weights.get(loraKeyA(layer, target));
  const Bm = lora.weights.get(loraKeyB(layer, target));
  if (!A && !Bm) return [null, null];
  if (!A || !Bm) throw new Error(`reference model: LoRA for ${modulePath(layer, target)} needs both A and B`);
  const [O, I] = linearShape(cfg, target);
  const R = A.length / I;
  if (!Number.isInteger(R) || R < 1 || Bm.length !== O * R) throw new Error(`reference model: LoRA ${modulePath(layer, target)} shapes A ${A.length}, B ${Bm.length} do not fit [R, ${I}], [${O}, R]`);
  return [A, Bm];
}

function lmHeadName(cfg: ModelShape): string {
  return cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
}

function runForward(cfg: ModelShape, weights: Map<string, Float64Array>, lora: RefLora | null, batch: RefBatch): ForwardState {
  const { B, T } = batch;
  const N = B * T;
  const C = cfg.hiddenSize;
  const H = cfg.numHeads;
  const KVH = cfg.numKvHeads;
  const D = cfg.headDim;
  const F = cfg.intermediateSize;
  const V = cfg.vocabSize;
  const qDim = H * D;
  const kvDim = KVH * D;
  const s = lora?.scaling ?? 0;
  if (H % KVH !== 0) throw new Error(`reference model: heads ${H} not a multiple of kv heads ${KVH}`);
  const invFreq = ropeInvFreq(cfg);

  const wte = getW(weights, 'model.embed_tokens.weight', V * C);
  let x = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    const id = batch.inputIds[n];
    if (!(id >= 0 && id < V)) throw new Error(`reference model: token id ${id} at ${n} outside vocab ${V}`);
    x.set(wte.subarray(id * C, (id + 1) * C), n * C);
  }

  const layers: LayerCache[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `model.layers.${l}`;
    const lin: LayerCache['lin'] = {};
    const ln1 = new Float64Array(N * C);
    const rstd1 = new Float64Array(N);
    rmsnormForward(ln1, rstd1, x, getW(weights, `${p}.input_layernorm.weight`, C), N, C, cfg.rmsNormEps);
    const proj = (target: LoraTarget, inp: Float64Array, O: number, I: number, bias: Float64Array | null): Float64Array => {
      const out = new Float64Array(N * O);
      const [A, Bm] = loraPair(lora, l, target, cfg);
      const df = lora?.dropoutFactor;
      const drop = df && A ? (i: number) => df(l, target, i) : null;
      lin[target] = linearForward(out, inp, getW(weights, `${modulePath(l, target)}.weight`, O * I), bias, A, Bm, s, N, I, O, drop);
      return out;
    };
    const bias = (name: string, O: number) => (cfg.attentionBias ? getW(weights, `${p}.self_attn.${name}.bias`, O) : null);
    const q = proj('q_proj', ln1, qDim, C, bias('q_proj', qDim));
    const k = proj('k_proj', ln1, kvDim, C, bias('k_proj', kvDim));
    const v = proj('v_proj', ln1, kvDim, C, bias('v_proj', kvDim));
    ropeApply(q, batch.positions, invFreq, N, H, D, false);
    ropeApply(k, batch.positions, invFreq, N, KVH, D, false);
    const att = new Float64Array(N * qDim);
    const probs = new Float64Array(B * H * T * T);
    attentionForward(att, probs, q, k, v, batch.segmentIds, B, T, H, KVH, D);
    const o = proj('o_proj', att, C, qDim, null);
    const xMid = new Float64Array(N * C);
    for (let i = 0; i < N * C; i++) xMid[i] = x[i] + o[i];
    const ln2 = new Float64Array(N * C);
    const rstd2 = new Float64Array(N);
    rmsnormForward(ln2, rstd2, xMid, getW(weights, `${p}.post_attention_layernorm.weight`, C), N, C, cfg.rmsNormEps);
    const gate = proj('gate_proj', ln2, F, C, null);
    const up = proj('up_proj', ln2, F, C, null);
    const act = new Float64Array(N * F);
    for (let i = 0; i < N * F; i++) act[i] = silu(gate[i]) * up[i];
    const down = proj('down_proj', act, C, F, null);
    const xOut = new Float64Array(N * C);
    for (let i = 0; i < N * C; i++) xOut[i] = xMid[i] + down[i];
    layers.push({ xIn: x, ln1, rstd1, q, k, v, probs, att, xMid, ln2, rstd2, gate, up, act, lin });
    x = xOut;
  }

  const lnf = new Float64Array(N * C);
  const rstdf = new Float64Array(N);
  rmsnormForward(lnf, rstdf, x, getW(weights, 'model.norm.weight', C), N, C, cfg.rmsNormEps);
  const logits = new Float64Array(N * V);
  linearForward(logits, lnf, getW(weights, lmHeadName(cfg), V * C), null, null, null, 0, N, C, V);

  let numTargets = 0;
  let lossSum = 0;
  for (let n = 0; n < N; n++) {
    const tgt = batch.targets[n];
    if (tgt === IGNORE_INDEX) continue;
    if (!(tgt >= 0 && tgt < V)) throw new Error(`reference model: target ${tgt} at ${n} outside vocab ${V}`);
    numTargets++;
    lossSum += logSumExp(logits, n * V, V) - logits[n * V + tgt];
  }
  // Mean over non-ignored targets; a batch with none has loss 0 (and zero gradients).
  const loss = numTargets > 0 ? lossSum / numTargets : 0;
  return { layers, xFinal: x, lnf, rstdf, logits, loss, numTargets };
}

function logSumExp(a: Float64Array, off: number, n: number): number {
  let mx = -Infinity;
  for (let i = 0; i < n; i++) mx = Math.max(mx, a[off + i]);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(a[off + i] - mx);
  return mx + Math.log(s);
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
  const st = runForward(cfg, weights, lora, batch);
  return { logits: st.logits, loss: st.loss, numTargets: st.numTargets };
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
  const st = runForward(cfg, weights, lora, batch);
  const { B, T } = batch;
  const N = B * T;
  const C = cfg.hiddenSize;
  const H = cfg.numHeads;
  const KVH = cfg.numKvHeads;
  const D = cfg.headDim;
  const F = cfg.intermediateSize;
  const V = cfg.vocabSize;
  const qDim = H * D;
  const kvDim = KVH * D;
  const s = lora.scaling;
  const invFreq = ropeInvFreq(cfg);
  const grads = new Map<string, Float64Array>();
  for (const [k, w] of lora.weights) grads.set(k, new Float64Array(w.length));

  // d loss / d logits = (softmax − onehot) / numTargets per non-ignored row.
  const dlogits = new Float64Array(N * V);
  if (st.numTargets > 0) {
    const inv = lossScale / st.numTargets;
    for (let n = 0; n < N; n++) {
      const tgt = batch.targets[n];
      if (tgt === IGNORE_INDEX) continue;
      const lse = logSumExp(st.logits, n * V, V);
      for (let v = 0; v < V; v++) dlogits[n * V + v] = Math.exp(st.logits[n * V + v] - lse) * inv;
      dlogits[n * V + tgt] -= inv;
    }
  }
  const dlnf = new Float64Array(N * C);
  linearBackward(dlnf, null, null, dlogits, getW(weights, lmHeadName(cfg), V * C), { inp: st.lnf, xd: st.lnf, h: null, A: null, B: null, R: 0 }, 0, N, C, V);
  let dx = new Float64Array(N * C);
  rmsnormBackward(dx, dlnf, st.xFinal, getW(weights, 'model.norm.weight', C), st.rstdf, N, C);

  for (let l = cfg.numLayers - 1; l >= 0; l--) {
    const L = st.layers[l];
    const p = `model.layers.${l}`;
    const back = (target: LoraTarget, dinp: Float64Array, dout: Float64Array, O: number, I: number) => {
      const cache = L.lin[target]!;
      const dA = cache.h ? grads.get(loraKeyA(l, target))! : null;
      const dB = cache.h ? grads.get(loraKeyB(l, target))! : null;
      linearBackward(dinp, dA, dB, dout, getW(weights, `${modulePath(l, target)}.weight`, O * I), cache, s, N, I, O);
    };
    // MLP: xOut = xMid + down(silu(gate)·up); dx flows into dxMid unchanged plus through the MLP.
    const dxMid = dx.slice();
    const dact = new Float64Array(N * F);
    back('down_proj', dact, dx, C, F);
    const dgate = new Float64Array(N * F);
    const dup = new Float64Array(N * F);
    for (let i = 0; i < N * F; i++) {
      const g = L.gate[i];
      const sg = 1 / (1 + Math.exp(-g));
      dgate[i] = dact[i] * L.up[i] * sg * (1 + g * (1 - sg));
      dup[i] = dact[i] * g * sg;
    }
    const dln2 = new Float64Array(N * C);
    back('gate_proj', dln2, dgate, F, C);
    back('up_proj', dln2, dup, F, C);
    rmsnormBackward(dxMid, dln2, L.xMid, getW(weights, `${p}.post_attention_layernorm.weight`, C), L.rstd2, N, C);
    // Attention: xMid = xIn + o_proj(attn(rope(q), rope(k), v)).
    const dxIn = dxMid.slice();
    const datt = new Float64Array(N * qDim);
    back('o_proj', datt, dxMid, C, qDim);
    const dq = new Float64Array(N * qDim);
    const dk = new Float64Array(N * kvDim);
    const dv = new Float64Array(N * kvDim);
    attentionBackward(dq, dk, dv, datt, L.probs, L.q, L.k, L.v, batch.segmentIds, B, T, H, KVH, D);
    ropeApply(dq, batch.positions, invFreq, N, H, D, true);
    ropeApply(dk, batch.positions, invFreq, N, KVH, D, true);
    const dln1 = new Float64Array(N * C);
    back('q_proj', dln1, dq, qDim, C);
    back('k_proj', dln1, dk, kvDim, C);
    back('v_proj', dln1, dv, kvDim, C);
    rmsnormBackward(dxIn, dln1, L.xIn, getW(weights, `${p}.input_layernorm.weight`, C), L.rstd1, N, C);
    dx = dxIn;
  }
  return { logits: st.logits, loss: st.loss, numTargets: st.numTargets, grads };
}

/** Names and shapes of every base tensor the reference reads for this config. */
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
  }
  m.set('model.norm.weight', [C]);
  if (!cfg.tieWordEmbeddings) m.set('lm_head.weight', [cfg.vocabSize, C]);
  return m;
}
