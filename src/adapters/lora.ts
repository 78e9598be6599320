// The in-memory LoRA adapter every exporter takes and the trainer produces, its scaling rule
// and its validation against a base model. Shapes follow PEFT: A [r, in], B [out, r], row-major.
import { LINEAR_MODULES, type LinearModule, type ModelConfig, linearShape } from '../engine/model/config';

export type { LinearModule } from '../engine/model/config';
export { LINEAR_MODULES } from '../engine/model/config';

export interface LoraConfig {
  /** Rank R. */
  r: number;
  /** lora_alpha. */
  alpha: number;
  /** Dropout used in training (recorded in the config; inference ignores it). */
  dropout: number;
  /** Which linear layers carry LoRA (a subset of LINEAR_MODULES). */
  targetModules: LinearModule[];
  /** rsLoRA: scaling alpha/√r instead of alpha/r. */
  useRslora: boolean;
  /** Hub id or path of the base model, written as base_model_name_or_path. */
  baseModel: string;
  /** Hub revision of the base model, if known. */
  revision?: string | null;
  /**
   * The quantized base it was trained on when that was not `baseModel` itself (a GGUF file and
   * its weight types, e.g. "model-Q4_0.gguf (Q4_0)"): as QLoRA's, the adapter is written for the
   * full-precision base and says so in its README.
   */
  trainedOn?: string | null;
}

/** One adapted linear layer: y = W x + scaling · B (A x). */
export interface LoraWeights {
  /** [r, inFeatures], row-major. */
  A: Float32Array;
  /** [outFeatures, r], row-major. */
  B: Float32Array;
  inFeatures: number;
  outFeatures: number;
}

/**
 * A LoRA adapter for a Llama-family model: `layers[i]` holds the adapted modules of block i
 * (layers.length === numLayers; a block with no entries is not adapted).
 */
export interface LoraAdapter {
  config: LoraConfig;
  layers: Array<Partial<Record<LinearModule, LoraWeights>>>;
}

export class LoraAdapterError extends Error {
  override name = 'LoraAdapterError';
}

/** The factor PEFT applies to B·A: the engine's one rule (alpha/r, or alpha/√r with rsLoRA). */
export { loraScalingOf as loraScaling } from '../engine/model/lora-params';

/** Throws LoraAdapterError naming the layer and module when the adapter does not fit the model. */
export function validateAdapter(adapter: LoraAdapter, cfg: ModelConfig): void {
  const { r, alpha, targetModules } = adapter.config;
  const fail = (msg: string): never => {
    throw new LoraAdapterError(`LoRA adapter: ${msg}`);
  };
  if (!Number.isSafeInteger(r) || r <= 0) fail(`rank r must be a positive integer, got ${r}`);
  if (!Number.isFinite(alpha)) fail(`lora_alpha must be a finite number, got ${alpha}`);
  for (const m of targetModules) {
    if (!(LINEAR_MODULES as readonly string[]).includes(m)) fail(`unknown target module "${m}" (supported: ${LINEAR_MODULES.join(', ')})`);
  }
  if (adapter.layers.length !== cfg.numLayers) fail(`has ${adapter.layers.length} layers, the base model (${cfg.architecture}) has ${cfg.numLayers}`);
  adapter.layers.forEach((layer, i) => {
    for (const [m, w] of Object.entries(layer) as [LinearModule, LoraWeights | undefined][]) {
      if (!w) continue;
      const where = `layer ${i} ${m}`;
      if (!targetModules.includes(m)) fail(`${where} is not in target_modules [${targetModules.join(', ')}]`);
      const { inFeatures, outFeatures } = linearShape(cfg, m);
      if (w.inFeatures !== inFeatures || w.outFeatures !== outFeatures) {
        fail(`${where} is ${w.outFeatures}×${w.inFeatures} (out×in), the base model's is ${outFeatures}×${inFeatures}`);
      }
      if (w.A.length !== r * inFeatures) fail(`${where} lora_A has ${w.A.length} values, expected [${r}, ${inFeatures}]`);
      if (w.B.length !== outFeatures * r) fail(`${where} lora_B has ${w.B.length} values, expected [${outFeatures}, ${r}]`);
    }
  });
}

/** Iterates the adapted (layer, module, weights) triples in a stable order. */
export function* adaptedModules(adapter: LoraAdapter): Generator<[number, LinearModule, LoraWeights]> {
  for (let i = 0; i < adapter.layers.length; i++) {
    for (const m of LINEAR_MODULES) {
      const w = adapter.layers[i][m];
      if (w) yield [i, m, w];
    }
  }
}

/** Which layers carry any module; null when every layer does (PEFT's layers_to_transform). */
export function transformedLayers(adapter: LoraAdapter): number[] | null {
  const used = adapter.layers.map((l, i) => (Object.values(l).some(Boolean) ? i : -1)).filter((i) => i >= 0);
  return used.length === adapter.layers.length ? null : used;
}

/** W [out, in] + scaling · B [out, r] · A [r, in], in place (float64 accumulation per element). */
export function mergeIntoWeight(W: Float32Array, w: LoraWeights, r: number, scaling: number): void {
  const { inFeatures: I, outFeatures: O, A, B } = w;
  if (W.length !== O * I) throw new LoraAdapterError(`merge: weight has ${W.length} values, expected ${O}×${I}`);
  const row = new Float64Array(I);
  for (let o = 0; o < O; o++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const b = B[o * r + k];
      if (b === 0) continue;
      const aOff = k * I;
      for (let i = 0; i < I; i++) row[i] += b * A[aOff + i];
    }
    const wOff = o * I;
    for (let i = 0; i < I; i++) W[wOff + i] += scaling * row[i];
  }
}
