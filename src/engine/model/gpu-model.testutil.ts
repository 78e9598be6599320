// Test helper (not shipped): puts a float64 tiny model and LoRA from tiny-random.testutil on
// the GPU, and reads the GPU's LoRA gradients back keyed like the reference's.
import type { GpuContext } from '../gpu/context';
import type { LinearModule, ModelConfig } from './config';
import { LlamaModel } from './llama';
import { LoraParams, type LoraSettings, planLoraLayout, slotKey } from './lora-params';
import { uploadWeightsFromMap, type WeightStorage } from './weights';
import { LORA_TARGETS, type RefLora, loraKeyA, loraKeyB } from '../reference/model';

export async function gpuModel(ctx: GpuContext, cfg: ModelConfig, weights: Map<string, Float64Array>, storage: WeightStorage = 'f32'): Promise<LlamaModel> {
  return new LlamaModel(ctx, cfg, await uploadWeightsFromMap(ctx, cfg, weights, { storage }));
}

/** The modules a reference LoRA adapts (same set in every layer, as randomLora makes them). */
export function refTargets(cfg: ModelConfig, lora: RefLora): LinearModule[] {
  return LORA_TARGETS.filter((t) => lora.weights.has(loraKeyA(0, t)));
}

/** GPU LoRA parameters holding the reference LoRA's values; alpha chosen so scaling matches. */
export function gpuLora(ctx: GpuContext, cfg: ModelConfig, lora: RefLora, R: number, extra: Partial<LoraSettings> = {}): LoraParams {
  const settings: LoraSettings = { r: R, alpha: lora.scaling * R, dropout: 0, targetModules: refTargets(cfg, lora), useRslora: false, ...extra };
  const layout = planLoraLayout(cfg, settings);
  const p = new LoraParams(ctx, layout, settings, new Float32Array(layout.totalFloats));
  p.writeFlat('params', p.pack(refLoraModules(cfg, lora)));
  return p;
}

export function refLoraModules(cfg: ModelConfig, lora: RefLora): Map<string, { A: Float64Array; B: Float64Array }> {
  const mods = new Map<string, { A: Float64Array; B: Float64Array }>();
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const t of LORA_TARGETS) {
      const A = lora.weights.get(loraKeyA(l, t));
      const B = lora.weights.get(loraKeyB(l, t));
      if (A && B) mods.set(slotKey(l, t), { A, B });
    }
  }
  return mods;
}

/** A flat GPU array (params or grads) as a map keyed like the reference LoRA. */
export function flatToRefKeys(p: LoraParams, flat: Float32Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const { slot, A, B } of p.unpack(flat).values()) {
    out.set(loraKeyA(slot.layer, slot.module), A);
    out.set(loraKeyB(slot.layer, slot.module), B);
  }
  return out;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
