// The one adapter loader: PEFT files → LoraAdapter (checked against the base model), and
// LoraAdapter → the engine's GPU LoRA parameters. The CLI (infer, eval, train --adapter) and
// the worker (playground, exports) all load adapters through here.
import type { GpuContext } from '../engine/gpu/context';
import type { ModelConfig } from '../engine/model/config';
import { type LoraLayout, LoraParams, type LoraSettings, planLoraLayout } from '../engine/model/lora-params';
import { memorySource, SafetensorsFile } from '../engine/model/safetensors';
import { type LoraAdapter, LoraAdapterError, transformedLayers } from './lora';
import { importPeft, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from './peft';

/** A PEFT adapter from its two files among `files` (e.g. a stored adapter's), validated against `cfg`. */
export async function loadPeftFiles(files: readonly { name: string; bytes: Uint8Array | ArrayBuffer }[], cfg: ModelConfig, what = 'The adapter'): Promise<LoraAdapter> {
  const file = (n: string) => files.find((f) => f.name === n);
  const cfgFile = file(PEFT_CONFIG_FILE);
  const wFile = file(PEFT_WEIGHTS_FILE);
  if (!cfgFile || !wFile) throw new LoraAdapterError(`${what} is missing ${PEFT_CONFIG_FILE} or ${PEFT_WEIGHTS_FILE}.`);
  const weights = await SafetensorsFile.open(memorySource(new Uint8Array(wFile.bytes), PEFT_WEIGHTS_FILE));
  return importPeft({ adapterConfig: new TextDecoder().decode(cfgFile.bytes), weights }, cfg);
}

/** The engine's LoRA settings for an adapter: its rank, alpha, targets and the layers it adapts. */
export function loraSettingsOf(adapter: LoraAdapter): LoraSettings {
  const c = adapter.config;
  return { r: c.r, alpha: c.alpha, dropout: 0, targetModules: [...c.targetModules], useRslora: c.useRslora, layersToTransform: transformedLayers(adapter) };
}

/**
 * The adapter's weights in the flat layout. A target module that an adapted layer does not
 * carry (a PEFT regex target can skip some) gets A = B = 0, which adds exactly nothing.
 */
export function adapterFlatParams(adapter: LoraAdapter, layout: LoraLayout): Float32Array {
  const flat = new Float32Array(layout.totalFloats);
  for (const s of layout.slots) {
    const w = adapter.layers[s.layer]?.[s.module];
    if (!w) continue;
    if (w.A.length !== layout.R * s.inFeatures || w.B.length !== s.outFeatures * layout.R) throw new LoraAdapterError(`layer ${s.layer} ${s.module}: A ${w.A.length}, B ${w.B.length} values do not fit rank ${layout.R}`);
    flat.set(w.A, s.aOffset);
    flat.set(w.B, s.bOffset);
  }
  return flat;
}

/** GPU LoRA parameters holding `adapter` for the model `cfg` (inference: dropout 0). */
export function loadLoraParams(ctx: GpuContext, cfg: ModelConfig, adapter: LoraAdapter): LoraParams {
  const settings = loraSettingsOf(adapter);
  const layout = planLoraLayout(cfg, settings);
  return new LoraParams(ctx, layout, settings, adapterFlatParams(adapter, layout));
}
