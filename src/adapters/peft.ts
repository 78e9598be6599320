// Hugging Face PEFT LoRA adapters: export (adapter_model.safetensors + adapter_config.json +
// README.md) and import with validation against the base model's config.
import { parseJsonObject } from '../engine/model/json';
import { type ModelConfig, type LinearModule, LINEAR_MODULES, isLinearModule, linearShape, moduleParent } from '../engine/model/config';
import type { FloatDtype } from '../engine/model/dtype';
import { type TensorStore, type TensorToWrite, serializeSafetensors } from '../engine/model/safetensors';
import { type LoraAdapter, type LoraConfig, LoraAdapterError, adaptedModules, transformedLayers, validateAdapter } from './lora';

export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
export const PEFT_CONFIG_FILE = 'adapter_config.json';

/** `base_model.model.model.layers.{i}.{self_attn|mlp}.{module}.lora_{A|B}.weight` */
export function peftKey(layer: number, m: LinearModule, which: 'A' | 'B'): string {
  return `base_model.model.model.layers.${layer}.${moduleParent(m)}.${m}.lora_${which}.weight`;
}

/** adapter_config.json as PEFT writes it for a LoRA on a causal LM. */
export function peftConfigJson(adapter: LoraAdapter): Record<string, unknown> {
  const c = adapter.config;
  // Only fields every PEFT release since 0.9 knows: older releases reject unknown keys.
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: c.baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: transformedLayers(adapter),
    loftq_config: {},
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: c.r,
    rank_pattern: {},
    revision: c.revision ?? null,
    target_modules: LINEAR_MODULES.filter((m) => c.targetModules.includes(m)),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: c.useRslora,
  };
}

export function peftReadme(adapter: LoraAdapter): string {
  const c = adapter.config;
  return `---
base_model: ${c.baseModel}
library_name: peft
tags:
- lora
- lora-studio
---

# LoRA adapter for ${c.baseModel}

Trained with LoRA Studio. Rank ${c.r}, lora_alpha ${c.alpha}${c.useRslora ? ' (rsLoRA)' : ''}, targets: ${c.targetModules.join(', ')}.
${c.trainedOn ? `\nTrained on a quantized base: ${c.trainedOn}. As with QLoRA, the adapter is written for the full-precision ${c.baseModel}; on that quantized file (llama.cpp: the GGUF LoRA export) it behaves as trained, on the full-precision weights up to the quantization error.\n` : ''}
## Load with PEFT

\`\`\`python
from transformers import AutoModelForCausalLM, AutoTokenizer
from peft import PeftModel

base = AutoModelForCausalLM.from_pretrained("${c.baseModel}")
tokenizer = AutoTokenizer.from_pretrained("${c.baseModel}")
model = PeftModel.from_pretrained(base, "path/to/this/folder")

# optional: fold the adapter into the weights
model = model.merge_and_unload()
\`\`\`
`;
}

export interface PeftFiles {
  'adapter_model.safetensors': Uint8Array;
  'adapter_config.json': string;
  'README.md': string;
}

/** Exports an adapter as a PEFT folder's files. Tensors are F32 unless `dtype` says otherwise. */
export function exportPeft(adapter: LoraAdapter, base: ModelConfig, opts: { dtype?: FloatDtype } = {}): PeftFiles {
  validateAdapter(adapter, base);
  const dtype = opts.dtype ?? 'F32';
  const r = adapter.config.r;
  const tensors: TensorToWrite[] = [];
  for (const [i, m, w] of adaptedModules(adapter)) {
    tensors.push({ name: peftKey(i, m, 'A'), dtype, shape: [r, w.inFeatures], data: w.A });
    tensors.push({ name: peftKey(i, m, 'B'), dtype, shape: [w.outFeatures, r], data: w.B });
  }
  return {
    'adapter_model.safetensors': serializeSafetensors(tensors, { format: 'pt' }),
    'adapter_config.json': JSON.stringify(peftConfigJson(adapter), null, 2) + '\n',
    'README.md': peftReadme(adapter),
  };
}

const KEY_RE = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)\.lora_(A|B)(?:\.default)?\.weight$/;

function parseConfig(input: string | unknown): LoraConfig & { layersToTransform: number[] | null; targetMatcher: (layer: number, m: LinearModule) => boolean } {
  const fail = (msg: string): never => {
    throw new LoraAdapterError(`${PEFT_CONFIG_FILE}: ${msg}`);
  };
  const c = parseJsonObject(input, fail);
  if (c.peft_type !== 'LORA') fail(`peft_type ${JSON.stringify(c.peft_type)} is not supported (supported: LORA)`);
  if (c.task_type !== undefined && c.task_type !== null && c.task_type !== 'CAUSAL_LM') fail(`task_type ${JSON.stringify(c.task_type)} is not supported (supported: CAUSAL_LM)`);
  if (!Number.isSafeInteger(c.r) || (c.r as number) <= 0) fail(`r must be a positive integer, got ${JSON.stringify(c.r)}`);
  const r = c.r as number;
  const alpha = c.lora_alpha ?? 8; // PEFT's default
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) fail(`lora_alpha must be a number, got ${JSON.stringify(c.lora_alpha)}`);
  const unsupported: [string, boolean][] = [
    ['use_dora: true (DoRA)', c.use_dora === true],
    ['fan_in_fan_out: true', c.fan_in_fan_out === true],
    [`bias: ${JSON.stringify(c.bias)}`, c.bias !== undefined && c.bias !== 'none'],
    ['modules_to_save', Array.isArray(c.modules_to_save) && c.modules_to_save.length > 0],
    ['rank_pattern', typeof c.rank_pattern === 'object' && c.rank_pattern !== null && Object.keys(c.rank_pattern).length > 0],
    ['alpha_pattern', typeof c.alpha_pattern === 'object' && c.alpha_pattern !== null && Object.keys(c.alpha_pattern).length > 0],
    ['lora_bias: true', c.lora_bias === true],
    ['layer_replication', Array.isArray(c.layer_replication) && c.layer_replication.length > 0],
    ['trainable_token_indices', c.trainable_token_indices !== undefined && c.trainable_token_indices !== null],
  ];
  const bad = unsupported.filter(([, is]) => is).map(([what]) => what);
  if (bad.length) fail(`${bad.join(', ')} not supported (supported: plain LoRA on linear layers)`);

  let targetModules: LinearModule[];
  let targetMatcher: (layer: number, m: LinearModule) => boolean;
  const tm = c.target_modules;
  if (Array.isArray(tm)) {
    const unknown = tm.filter((m) => !isLinearModule(m));
    if (unknown.length) fail(`target_modules ${JSON.stringify(unknown)} not supported (supported: ${LINEAR_MODULES.join(', ')})`);
    targetModules = LINEAR_MODULES.filter((m) => tm.includes(m));
    targetMatcher = (_l, m) => targetModules.includes(m);
  } else if (typeof tm === 'string') {
    // PEFT treats a string as a regex matched against the full module name.
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${tm})$`);
    } catch {
      return fail(`target_modules regex ${JSON.stringify(tm)} is not valid`);
    }
    targetMatcher = (l, m) => re.test(`model.layers.${l}.${moduleParent(m)}.${m}`);
    targetModules = LINEAR_MODULES.filter((m) => targetMatcher(0, m));
  } else {
    return fail('target_modules must be a list of module names or a regex string');
  }
  let layersToTransform: number[] | null = null;
  const ltt = c.layers_to_transform;
  if (typeof ltt === 'number') layersToTransform = [ltt];
  else if (Array.isArray(ltt)) layersToTransform = ltt as number[];
  else if (ltt !== undefined && ltt !== null) fail('layers_to_transform must be null, an integer or a list');
  if (layersToTransform && !layersToTransform.every((l) => Number.isSafeInteger(l) && l >= 0)) fail('layers_to_transform must hold layer indices');
  const dropout = c.lora_dropout ?? 0;
  if (typeof dropout !== 'number') fail('lora_dropout must be a number');
  return {
    r,
    alpha: alpha as number,
    dropout: dropout as number,
    targetModules,
    useRslora: c.use_rslora === true,
    baseModel: typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : '',
    revision: typeof c.revision === 'string' ? c.revision : null,
    layersToTransform,
    targetMatcher,
  };
}

/** Hub ids compare by their last two path parts, case-insensitively (a local path may prefix them). */
function sameModelId(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/\\/g, '/').replace(/\/+$/, '').split('/').slice(-2).join('/').toLowerCase();
  return norm(a) === norm(b);
}

/**
 * Reads a PEFT LoRA folder back: adapter_config.json (text or object) and the weights
 * (a TensorStore over adapter_model.safetensors). Every tensor must be a lora_A/lora_B of a
 * targeted linear layer of the base model, with PEFT's shapes; every targeted layer must have
 * both. Errors name the key and what was expected. With `baseModelId`, an adapter whose
 * base_model_name_or_path names a different model is rejected.
 */
export async function importPeft(
  files: { adapterConfig: string | unknown; weights: TensorStore },
  base: ModelConfig,
  opts: { baseModelId?: string } = {},
): Promise<LoraAdapter> {
  const pc = parseConfig(files.adapterConfig);
  if (opts.baseModelId && pc.baseModel && !sameModelId(pc.baseModel, opts.baseModelId)) {
    throw new LoraAdapterError(`${PEFT_CONFIG_FILE}: adapter was trained on "${pc.baseModel}", not on the loaded base model "${opts.baseModelId}"`);
  }
  const fail = (msg: string): never => {
    throw new LoraAdapterError(`${PEFT_WEIGHTS_FILE}: ${msg}`);
  };
  const r = pc.r;
  const layers: LoraAdapter['layers'] = Array.from({ length: base.numLayers }, () => ({}));
  const partial = new Map<string, { A?: Float32Array; B?: Float32Array }>();
  for (const name of files.weights.names()) {
    const m = KEY_RE.exec(name);
    if (!m) fail(`tensor "${name}" is not a LoRA weight of a linear layer (expected base_model.model.model.layers.{i}.{self_attn|mlp}.{module}.lora_{A|B}.weight)`);
    const [, layerStr, parent, mod, which] = m!;
    const layer = Number(layerStr);
    if (!isLinearModule(mod) || moduleParent(mod) !== parent) fail(`tensor "${name}": unknown module ${parent}.${mod} (supported: ${LINEAR_MODULES.join(', ')})`);
    const module = mod as LinearModule;
    if (layer >= base.numLayers) fail(`tensor "${name}": layer ${layer} does not exist, the base model (${base.architecture}) has ${base.numLayers} layers`);
    if (!pc.targetMatcher(layer, module)) fail(`tensor "${name}": ${module} is not in target_modules`);
    if (pc.layersToTransform && !pc.layersToTransform.includes(layer)) fail(`tensor "${name}": layer ${layer} is not in layers_to_transform`);
    const { inFeatures, outFeatures } = linearShape(base, module);
    const want = which === 'A' ? [r, inFeatures] : [outFeatures, r];
    const shape = files.weights.info(name).shape;
    if (shape.length !== 2 || shape[0] !== want[0] || shape[1] !== want[1]) {
      fail(`tensor "${name}" is [${shape.join(', ')}], expected [${want.join(', ')}] (r=${r}; base ${module} is ${outFeatures}×${inFeatures} out×in)`);
    }
    const key = `${layer}.${module}`;
    const entry = partial.get(key) ?? {};
    entry[which as 'A' | 'B'] = await files.weights.readF32(name);
    partial.set(key, entry);
  }
  for (let l = 0; l < base.numLayers; l++) {
    if (pc.layersToTransform && !pc.layersToTransform.includes(l)) continue;
    for (const module of LINEAR_MODULES) {
      if (!pc.targetMatcher(l, module)) continue;
      const e = partial.get(`${l}.${module}`);
      if (!e?.A || !e?.B) fail(`layer ${l} ${module} is targeted but ${e?.A ? 'lora_B' : e?.B ? 'lora_A' : 'lora_A and lora_B'} ${e?.A || e?.B ? 'is' : 'are'} missing`);
      const { inFeatures, outFeatures } = linearShape(base, module);
      layers[l][module] = { A: e!.A!, B: e!.B!, inFeatures, outFeatures };
    }
  }
  const adapter: LoraAdapter = {
    config: { r, alpha: pc.alpha, dropout: pc.dropout, targetModules: pc.targetModules, useRslora: pc.useRslora, baseModel: pc.baseModel, revision: pc.revision },
    layers,
  };
  validateAdapter(adapter, base);
  return adapter;
}
