// Test helper (not shipped): tiny random Llama weights, LoRA adapters and batches in float64,
// deterministic for a seed. Used by the reference model's unit tests and the GPU model tests.
import { type GemmaSpecifics, type ModelConfig, isLinearWeight } from './config';
import { f16BitsToNumber, numberToF16Bits } from './dtype';
import { dequantize, quantize } from './quant';
import type { WeightStorage } from './weights';
import { uniformSource } from '../optim/rng';
import { LORA_TARGETS, type LoraTarget, type ModelShape, type RefBatch, type RefLora, baseTensorShapes, linearShape, loraKeyA, loraKeyB } from '../reference/model';

/** The project's seeded uniform generator (engine/optim/rng). */
export const seededRandom = uniformSource;

export function tinyShape(over: Partial<ModelShape> = {}): ModelShape {
  return {
    hiddenSize: 16,
    intermediateSize: 24,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 4,
    vocabSize: 40,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: true,
    attentionBias: false,
    ropeScaling: null,
    qkNorm: false,
    ...over,
  };
}

/**
 * A tiny gemma3_text shape: q/k norms, and Gemma's specifics with a short window (2 keys) so
 * windowed layers differ from full ones at test lengths; layers 0, 2, … local, 1, 3, … global
 * unless `slidingLayers` says otherwise. Local and global RoPE bases differ, global scaled ×2.
 */
export function tinyGemmaShape(over: Partial<ModelShape> = {}, gemma: Partial<GemmaSpecifics> = {}): ModelShape {
  const s = tinyShape({ qkNorm: true, headDim: 8, ...over });
  const spec: GemmaSpecifics = {
    slidingLayers: Array.from({ length: s.numLayers }, (_, l) => l % 2 === 0),
    slidingWindow: 2,
    ropeLocalTheta: 10000,
    ropeLinearFactor: 2,
    queryPreAttnScalar: 6,
    embedScale: Math.fround(Math.sqrt(s.hiddenSize)),
    ...gemma,
  };
  return { ...s, ropeTheta: 1e6, gemma: spec };
}

/** A full ModelConfig for a tiny shape (what the GPU model takes). */
export function tinyConfig(over: Partial<ModelShape> = {}): ModelConfig {
  const s = tinyShape(over);
  return {
    ...s,
    architecture: s.gemma ? 'gemma3_text' : s.qkNorm ? 'qwen3' : s.attentionBias ? 'qwen2' : 'llama',
    ropeScaling: s.ropeScaling ?? null,
    qkNorm: s.qkNorm ?? false,
    gemma: s.gemma ?? null,
    maxPositionEmbeddings: 2048,
    dtype: 'F32',
    bosTokenId: null,
    eosTokenIds: [],
  };
}

/** Random base weights: linears U(-1,1)·gain/√in, norms 1 ± 0.2 (gemma: offsets 0 ± 0.2, so 1 + w ≈ 1), embedding U(-1,1). */
export function randomWeights(cfg: ModelShape, seed: number, gain = 1.5): Map<string, Float64Array> {
  const r = seededRandom(seed);
  const m = new Map<string, Float64Array>();
  for (const [name, shape] of baseTensorShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const w = new Float64Array(n);
    if (name.endsWith('norm.weight')) for (let i = 0; i < n; i++) w[i] = (cfg.gemma ? 0 : 1) + 0.4 * (r() - 0.5);
    else if (name.endsWith('.bias')) for (let i = 0; i < n; i++) w[i] = 0.2 * (2 * r() - 1);
    else if (name === 'model.embed_tokens.weight') for (let i = 0; i < n; i++) w[i] = 2 * r() - 1;
    else {
      const scale = gain / Math.sqrt(shape[1]);
      for (let i = 0; i < n; i++) w[i] = scale * (2 * r() - 1);
    }
    m.set(name, w);
  }
  return m;
}

/** A random LoRA on `targets` of every layer; `zeroB` gives PEFT's initial state (B = 0). */
export function randomLora(cfg: ModelShape, R: number, seed: number, opts: { targets?: readonly LoraTarget[]; scaling?: number; zeroB?: boolean; magnitude?: number } = {}): RefLora {
  const r = seededRandom(seed);
  const targets = opts.targets ?? LORA_TARGETS;
  const mag = opts.magnitude ?? 0.5;
  const weights = new Map<string, Float64Array>();
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const t of targets) {
      const [O, I] = linearShape(cfg, t);
      const A = new Float64Array(R * I);
      for (let i = 0; i < A.length; i++) A[i] = (2 * r() - 1) / Math.sqrt(I);
      const B = new Float64Array(O * R);
      if (!opts.zeroB) for (let i = 0; i < B.length; i++) B[i] = (mag * (2 * r() - 1)) / Math.sqrt(R);
      weights.set(loraKeyA(l, t), A);
      weights.set(loraKeyB(l, t), B);
    }
  }
  return { scaling: opts.scaling ?? 2, weights };
}

/**
 * A random batch. `packed` splits each row into segments (positions restart, segment ids
 * differ) and ignores a few targets, like the data pipeline's packed batches.
 */
export function randomBatch(cfg: ModelShape, B: number, T: number, seed: number, opts: { packed?: boolean; ignoreFraction?: number } = {}): RefBatch {
  const r = seededRandom(seed);
  const N = B * T;
  const inputIds = new Uint32Array(N);
  const targets = new Int32Array(N);
  const positions = new Uint32Array(N);
  const segmentIds = new Uint32Array(N);
  const ignore = opts.ignoreFraction ?? 0.2;
  let seg = 0;
  for (let b = 0; b < B; b++) {
    let pos = 0;
    for (let t = 0; t < T; t++) {
      if (opts.packed && t > 0 && r() < 0.3) {
        seg++;
        pos = 0;
      }
      const n = b * T + t;
      inputIds[n] = Math.floor(r() * cfg.vocabSize);
      positions[n] = pos++;
      segmentIds[n] = seg;
    }
    seg++;
  }
  for (let n = 0; n < N; n++) {
    // The last token of each segment has no next token in the segment: ignored, as the pipeline does.
    const lastOfSeg = n % T === T - 1 || segmentIds[n + 1] !== segmentIds[n];
    targets[n] = lastOfSeg || r() < ignore ? -100 : Math.floor(r() * cfg.vocabSize);
  }
  // Keep at least one target so the mean loss is defined.
  if (targets.every((x) => x === -100)) targets[0] = 1;
  return { B, T, inputIds, targets, positions, segmentIds };
}

/**
 * The values the GPU holds for `weights` in `storage`, for the float64 reference: matrices
 * rounded to f32 / f16, or quantized with ggml's reference quantizer and dequantized (q8: Q8_0;
 * q4: Q4_0 linears, Q8_0 embedding and LM head); norms and biases as f32.
 */
export function storedWeights(cfg: ModelShape, weights: Map<string, Float64Array>, storage: WeightStorage): Map<string, Float64Array> {
  const shapes = baseTensorShapes(cfg);
  const out = new Map<string, Float64Array>();
  for (const [name, w] of weights) {
    const shape = shapes.get(name)!;
    const f = Float32Array.from(w);
    if (shape.length !== 2 || storage === 'f32') out.set(name, Float64Array.from(f));
    else if (storage === 'f16') out.set(name, Float64Array.from(f, (x) => f16BitsToNumber(numberToF16Bits(x))));
    else {
      const type = storage === 'q4' && isLinearWeight(name) ? 'Q4_0' : 'Q8_0';
      out.set(name, Float64Array.from(dequantize(type, quantize(type, f, shape[1]))));
    }
  }
  return out;
}
