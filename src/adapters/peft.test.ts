import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../test/fixtures/tiny-model';
import { rng } from '../../test/numeric';
import { type ModelConfig, linearShape } from '../engine/model/config';
import { SafetensorsFile, memorySource, readSafetensorsHeader, serializeSafetensors } from '../engine/model/safetensors';
import { LINEAR_MODULES, type LinearModule, type LoraAdapter, loraScaling, validateAdapter } from './lora';
import { exportPeft, importPeft, peftKey } from './peft';

const tiny = buildTinyModel({ layers: 2, hiddenSize: 32, numHeads: 4, numKvHeads: 2, headDim: 12, intermediateSize: 40, seed: 3 });
const cfg = tiny.config;

function adapterFor(c: ModelConfig, opts: { r?: number; targets?: readonly LinearModule[]; layers?: number[]; seed?: number; useRslora?: boolean; alpha?: number } = {}): LoraAdapter {
  const r = opts.r ?? 3;
  const rand = rng(opts.seed ?? 1);
  const targets = opts.targets ?? LINEAR_MODULES;
  const layers: LoraAdapter['layers'] = Array.from({ length: c.numLayers }, (_, l) => {
    const layer: LoraAdapter['layers'][number] = {};
    if (opts.layers && !opts.layers.includes(l)) return layer;
    for (const m of targets) {
      const { inFeatures, outFeatures } = linearShape(c, m);
      layer[m] = { A: Float32Array.from({ length: r * inFeatures }, () => rand() - 0.5), B: Float32Array.from({ length: outFeatures * r }, () => rand() - 0.5), inFeatures, outFeatures };
    }
    return layer;
  });
  return { config: { r, alpha: opts.alpha ?? 16, dropout: 0.05, targetModules: [...targets], useRslora: opts.useRslora ?? false, baseModel: 'HuggingFaceTB/SmolLM2-135M-Instruct', revision: null }, layers };
}

async function reimport(files: ReturnType<typeof exportPeft>, c: ModelConfig = cfg, opts?: { baseModelId?: string }) {
  return importPeft({ adapterConfig: files['adapter_config.json'], weights: await SafetensorsFile.open(memorySource(files['adapter_model.safetensors'], 'adapter_model.safetensors')) }, c, opts);
}

describe('PEFT export', () => {
  const adapter = adapterFor(cfg, { r: 3 });
  const files = exportPeft(adapter, cfg);

  it('writes PEFT keys, [r, in] / [out, r] shapes and {"format":"pt"} metadata', async () => {
    const h = await readSafetensorsHeader(memorySource(files['adapter_model.safetensors'], 'adapter_model.safetensors'));
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.tensors.length).toBe(2 * 7 * 2);
    const byName = new Map(h.tensors.map((t) => [t.name, t]));
    expect(byName.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.shape).toEqual([3, 32]);
    expect(byName.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')!.shape).toEqual([48, 3]); // H·D = 4·12
    expect(byName.get('base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight')!.shape).toEqual([24, 3]); // KVH·D
    expect(byName.get('base_model.model.model.layers.1.self_attn.o_proj.lora_A.weight')!.shape).toEqual([3, 48]);
    expect(byName.get('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight')!.shape).toEqual([3, 40]);
    expect(byName.get('base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight')!.shape).toEqual([40, 3]);
    for (const t of h.tensors) expect(t.dtype).toBe('F32');
  });

  it('writes every adapter_config.json field PEFT writes', () => {
    const c = JSON.parse(files['adapter_config.json']);
    expect(c).toMatchObject({
      peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: 'HuggingFaceTB/SmolLM2-135M-Instruct', r: 3, lora_alpha: 16,
      lora_dropout: 0.05, target_modules: [...LINEAR_MODULES], bias: 'none', fan_in_fan_out: false, use_rslora: false, use_dora: false,
      inference_mode: true, init_lora_weights: true, modules_to_save: null, rank_pattern: {}, alpha_pattern: {}, layers_to_transform: null, revision: null,
    });
    expect(files['README.md']).toContain('PeftModel.from_pretrained(base, ');
    expect(files['README.md']).toContain('base_model: HuggingFaceTB/SmolLM2-135M-Instruct');
  });

  it('round-trips export → import exactly (F32), and within f16 rounding for F16', async () => {
    const back = await reimport(files);
    expect(back).toEqual(adapter);
    const half = await reimport(exportPeft(adapter, cfg, { dtype: 'F16' }));
    const a = adapter.layers[1].up_proj!.A;
    const b = half.layers[1].up_proj!.A;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(Math.abs(a[i]) * 2 ** -11 + 1e-7); // half: 11-bit significand
  });

  it('round-trips partial adapters: some targets, some layers (layers_to_transform), rsLoRA', async () => {
    const partial = adapterFor(cfg, { targets: ['q_proj', 'v_proj'], layers: [1], useRslora: true, alpha: 5, r: 2 });
    const f = exportPeft(partial, cfg);
    const c = JSON.parse(f['adapter_config.json']);
    expect(c.target_modules).toEqual(['q_proj', 'v_proj']);
    expect(c.layers_to_transform).toEqual([1]);
    expect(c.use_rslora).toBe(true);
    const back = await reimport(f);
    expect(back).toEqual(partial);
    expect(loraScaling(back.config)).toBeCloseTo(5 / Math.sqrt(2), 12);
  });

  it('validates the adapter before exporting', () => {
    const bad = adapterFor(cfg, { targets: ['q_proj'] });
    bad.layers[0].q_proj!.B = new Float32Array(5);
    expect(() => exportPeft(bad, cfg)).toThrow(/layer 0 q_proj lora_B has 5 values, expected \[48, 3\]/);
    const stray = adapterFor(cfg, { targets: ['q_proj'] });
    stray.layers[0].v_proj = adapterFor(cfg, { targets: ['v_proj'] }).layers[0].v_proj;
    expect(() => validateAdapter(stray, cfg)).toThrow(/layer 0 v_proj is not in target_modules/);
  });
});

describe('PEFT import errors', () => {
  const adapter = adapterFor(cfg, { targets: ['q_proj', 'k_proj'] });
  const files = exportPeft(adapter, cfg);
  const config = JSON.parse(files['adapter_config.json']);
  const tensors = async () => {
    const f = await SafetensorsFile.open(memorySource(files['adapter_model.safetensors'], 'x'));
    return Promise.all(f.names().map(async (n) => ({ name: n, dtype: 'F32' as const, shape: f.info(n).shape, data: await f.readF32(n) })));
  };
  const run = async (cfgJson: unknown, ts: Awaited<ReturnType<typeof tensors>>, base: ModelConfig = cfg) =>
    importPeft({ adapterConfig: JSON.stringify(cfgJson), weights: await SafetensorsFile.open(memorySource(serializeSafetensors(ts, { format: 'pt' }), 'adapter_model.safetensors')) }, base);

  it('rejects a base model with different shapes, naming the tensor', async () => {
    const other = buildTinyModel({ layers: 2, hiddenSize: 32, numHeads: 4, numKvHeads: 4, seed: 3 }).config; // k_proj out 32, not 24
    await expect(run(config, await tensors(), other)).rejects.toThrow(/"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight" is \[48, 3\], expected \[32, 3\]/);
  });

  it('rejects a base model with fewer layers', async () => {
    const shallow = buildTinyModel({ layers: 1, hiddenSize: 32, numHeads: 4, numKvHeads: 2, headDim: 12, intermediateSize: 40 }).config;
    await expect(run(config, await tensors(), shallow)).rejects.toThrow(/layer 1 does not exist, the base model \(llama\) has 1 layers/);
  });

  it('rejects a different base model id when asked to check it', async () => {
    await expect(reimport(files, cfg, { baseModelId: 'Qwen/Qwen2.5-0.5B-Instruct' })).rejects.toThrow(/trained on "HuggingFaceTB\/SmolLM2-135M-Instruct", not on the loaded base model "Qwen\/Qwen2.5-0.5B-Instruct"/);
    await expect(reimport(files, cfg, { baseModelId: '/models/huggingfacetb/smollm2-135m-instruct/' })).resolves.toBeTruthy();
  });

  it('rejects unknown modules, untargeted modules, missing halves and non-LoRA tensors', async () => {
    const ts = await tensors();
    const extra = [...ts, { name: 'base_model.model.lm_head.lora_A.weight', dtype: 'F32' as const, shape: [3, 32], data: new Float32Array(96) }];
    await expect(run(config, extra)).rejects.toThrow(/"base_model.model.lm_head.lora_A.weight" is not a LoRA weight of a linear layer/);
    const rotary = [...ts, { name: peftKey(0, 'q_proj', 'A').replace('q_proj', 'rotary_proj'), dtype: 'F32' as const, shape: [3, 32], data: new Float32Array(96) }];
    await expect(run(config, rotary)).rejects.toThrow(/unknown module self_attn.rotary_proj/);
    await expect(run({ ...config, target_modules: ['q_proj'] }, ts)).rejects.toThrow(/k_proj is not in target_modules/);
    await expect(run(config, ts.filter((t) => t.name !== peftKey(1, 'k_proj', 'B')))).rejects.toThrow(/layer 1 k_proj is targeted but lora_B is missing/);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['DoRA', { use_dora: true }, /use_dora: true \(DoRA\).*not supported/],
    ['another PEFT type', { peft_type: 'IA3' }, /peft_type "IA3" is not supported \(supported: LORA\)/],
    ['unknown target module', { target_modules: ['q_proj', 'embed_tokens'] }, /target_modules \["embed_tokens"\] not supported/],
    ['rank_pattern', { rank_pattern: { q_proj: 8 } }, /rank_pattern not supported/],
    ['bias training', { bias: 'all' }, /bias: "all" not supported/],
    ['bad rank', { r: 0 }, /r must be a positive integer/],
  ])('rejects a config with %s', async (_n, patch, re) => {
    await expect(run({ ...config, ...patch }, await tensors())).rejects.toThrow(re);
  });

  it('accepts target_modules as a regex string (PEFT full-match semantics)', async () => {
    const back = await run({ ...config, target_modules: '.*\\.(q_proj|k_proj)' }, await tensors());
    expect(back.config.targetModules).toEqual(['q_proj', 'k_proj']);
    expect(back.layers[0].q_proj!.A).toEqual(adapter.layers[0].q_proj!.A);
  });
});
