import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTokenizer, parseDataset, selectTrainingExamples, splitTrainVal, tokenizeExamples, type Example, type LossMode } from '../../data';
import { DEFAULT_SETTINGS, SETTING_KEYS, type TrainSettings } from '../settings';
import { WEIGHT_STORAGES } from '../../engine/model/weights';
import { tinyTokenizerFiles } from '../../../test/fixtures/tiny-tokenizer';
import { ENGINE_MAP, RECIPE_TARGETS, SETTING_MAP, effectiveBatch, mappedKeys, type MapContext, type RecipeTarget } from './mapping';
import { recipeFiles, TRAIN_FILE, VAL_FILE, type RecipeFile } from './recipe';
import { decodeRunRecord, encodeRunRecord, objectiveOf, type Objective, type RunRecord } from './run-record';
import { toYaml, type YamlValue } from './yaml';

// ---- The targets' documented keys (the ones this mapping may write), as data. ----
// Axolotl 0.10.x: docs/config.qmd and the config schema (src/axolotl/utils/schemas/), top level;
// rl/rl_beta/orpo_alpha/remove_unused_columns from docs/rlhf.qmd.
const AXOLOTL_KEYS = new Set([
  'base_model', 'revision_of_model', 'load_in_4bit', 'load_in_8bit', 'adapter', 'chat_template', 'datasets', 'test_datasets',
  'dataset_prepared_path', 'output_dir', 'val_set_size', 'lora_r', 'lora_alpha', 'lora_dropout', 'peft_use_rslora',
  'lora_target_modules', 'learning_rate', 'warmup_steps', 'lr_scheduler', 'num_epochs', 'max_steps', 'micro_batch_size',
  'eval_batch_size', 'gradient_accumulation_steps', 'sequence_len', 'eval_steps', 'save_strategy', 'save_steps', 'seed',
  'train_on_inputs', 'sample_packing', 'eval_sample_packing', 'pad_to_sequence_len', 'flash_attention', 'max_grad_norm',
  'weight_decay', 'bf16', 'fp16', 'tf32', 'gradient_checkpointing', 'optimizer', 'adam_beta1', 'adam_beta2', 'adam_epsilon',
  'logging_steps', 'deepspeed', 'rl', 'rl_beta', 'dpo_label_smoothing', 'orpo_alpha', 'remove_unused_columns', 'bnb_config_kwargs',
]);
// Axolotl 0.10.x, the keys of a `datasets` entry (docs/dataset-formats/conversation.qmd, inst_tune.qmd, pretraining.qmd;
// field_chosen/field_rejected/roles: docs/rlhf.qmd, chat_template.default).
const AXOLOTL_DATASET_KEYS = new Set([
  'path', 'ds_type', 'split', 'type', 'field_messages', 'message_property_mappings', 'roles_to_train', 'train_on_eos',
  'message_field_training', 'field', 'field_instruction', 'field_output', 'format', 'no_input_format', 'system_prompt',
  'field_chosen', 'field_rejected', 'roles',
]);
// Axolotl's bnb_config_kwargs and TRL's quantization_config: transformers BitsAndBytesConfig arguments
// (transformers/utils/quantization_config.py).
const BNB_CONFIG_ARGS = new Set(['load_in_4bit', 'load_in_8bit', 'bnb_4bit_quant_type', 'bnb_4bit_use_double_quant', 'bnb_4bit_compute_dtype']);
// peft >= 0.15 LoraConfig (peft/tuners/lora/config.py).
const LORA_CONFIG_ARGS = new Set(['r', 'lora_alpha', 'lora_dropout', 'use_rslora', 'target_modules', 'bias', 'task_type']);
// trl >= 0.20 SFTConfig (trl/trainer/sft_config.py) and the transformers TrainingArguments it extends.
const SFT_CONFIG_ARGS = new Set([
  'output_dir', 'model_init_kwargs', 'learning_rate', 'lr_scheduler_type', 'warmup_steps', 'num_train_epochs', 'max_steps',
  'per_device_train_batch_size', 'per_device_eval_batch_size', 'gradient_accumulation_steps', 'max_length', 'packing',
  'packing_strategy', 'padding_free', 'assistant_only_loss', 'completion_only_loss', 'eval_strategy', 'eval_steps',
  'save_strategy', 'save_steps', 'seed', 'data_seed', 'max_grad_norm', 'weight_decay', 'bf16', 'fp16', 'tf32',
  'gradient_checkpointing', 'optim', 'adam_beta1', 'adam_beta2', 'adam_epsilon', 'logging_steps',
]);
// trl >= 0.20 DPOConfig / ORPOConfig: TrainingArguments and their own (trl/trainer/dpo_config.py, orpo_config.py).
const SFT_ONLY_ARGS = ['packing', 'packing_strategy', 'padding_free', 'assistant_only_loss', 'completion_only_loss'];
const PREF_CONFIG_ARGS = new Set([...[...SFT_CONFIG_ARGS].filter((a) => !SFT_ONLY_ARGS.includes(a)), 'beta', 'label_smoothing', 'loss_type']);
// transformers from_pretrained keyword arguments passed through model_init_kwargs.
const MODEL_INIT_ARGS = new Set(['revision', 'torch_dtype', 'attn_implementation']);

// Recipes are read back by a maintained YAML 1.2 parser, as the trainers' own loaders would.
const readYaml = (text: string): YamlValue => parseYaml(text) as YamlValue;

// ---- Fixtures ----
const chat = (i: number) => ({
  messages: [
    ...(i % 3 === 0 ? [{ role: 'system', content: 'Answer in French.' }] : []),
    { role: 'user', content: `Question ${i}: what is ${i} + 1?` },
    { role: 'assistant', content: `It is ${i + 1}.` },
    ...(i % 2 === 0 ? [{ role: 'user', content: 'And doubled?' }, { role: 'assistant', content: `${2 * (i + 1)}, "quoted" \u00e9` }] : []),
  ],
});
const DATA: Record<'chat' | 'completion' | 'text' | 'pairs', unknown[]> = {
  chat: Array.from({ length: 12 }, (_, i) => chat(i)),
  pairs: Array.from({ length: 10 }, (_, i) => ({
    prompt: [...(i % 2 ? [{ role: 'system', content: 'Be brief.' }] : []), { role: 'user', content: `Is ${i} even?` }],
    chosen: [{ role: 'assistant', content: i % 2 ? 'No.' : 'Yes.' }],
    rejected: [{ role: 'assistant', content: i % 2 ? 'Yes.' : 'No.' }],
  })),
  completion: Array.from({ length: 9 }, (_, i) => ({ prompt: `Translate ${i}:`, completion: ` eins ${i}` })),
  text: Array.from({ length: 7 }, (_, i) => ({ text: `Line ${i} of plain text.` })),
};
const jsonlBytes = (rows: unknown[]) => new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

async function examplesOf(bytes: Uint8Array): Promise<Example[]> {
  return selectTrainingExamples(await parseDataset(bytes, { fileName: 'data.jsonl' }));
}

function runWith(settings: Partial<TrainSettings> = {}, engine: Partial<RunRecord['engine']> = {}): RunRecord {
  return {
    objective: { kind: 'sft' },
    settings: { ...DEFAULT_SETTINGS, targets: [...DEFAULT_SETTINGS.targets], ...settings },
    engine: { packing: true, maxGradNorm: 1, weightDecay: 0, weights: 'f32', recompute: 'auto', ...engine },
    data: { file: 'data.jsonl', sha256: '0'.repeat(64), excludeInvalid: false, dedupe: false, examples: 12 },
    base: { id: 'HuggingFaceTB/SmolLM2-135M-Instruct', revision: '12fd25f77366fa6b3b4b768ec3050bf629380bac' },
  };
}

/** A DPO/ORPO run on pairs (its record's objective follows its settings, as buildRunRecord makes it). */
function preferenceRun(objective: 'dpo' | 'orpo', settings: Partial<TrainSettings> = {}, engine: Partial<RunRecord['engine']> = {}): RunRecord {
  const r = runWith({ objective, beta: 0.2, labelSmoothing: 0.05, orpoLambda: 0.3, ...settings }, { packing: false, ...engine });
  return { ...r, objective: objectiveOf(r.settings), data: { ...r.data, examples: 10 } };
}

const file = (files: RecipeFile[], name: string) => {
  const f = files.find((x) => x.name === name);
  if (!f) throw new Error(`no ${name} in ${files.map((x) => x.name).join(', ')}`);
  return f.text;
};

const LOSS_MODES: LossMode[] = ['all-assistant', 'last-assistant', 'all'];

describe('mapping table', () => {
  it('has an entry for every setting and engine option, for every target', () => {
    for (const k of SETTING_KEYS) {
      for (const t of RECIPE_TARGETS) {
        const m = SETTING_MAP[k]?.[t];
        expect(m, `${k} → ${t}`).toBeDefined();
        if ('unmapped' in m) expect(m.unmapped.length, `${k} → ${t} reason`).toBeGreaterThan(10);
      }
    }
    expect(Object.keys(SETTING_MAP).sort()).toEqual([...SETTING_KEYS].sort());
    expect(Object.keys(ENGINE_MAP).sort()).toEqual(Object.keys(runWith().engine).sort());
  });

  it('writes only documented keys, for every kind, loss mode, packing, validation and weight storage', () => {
    for (const kind of ['chat', 'completion', 'text'] as const)
      for (const lossMode of LOSS_MODES)
        for (const packing of [true, false])
          for (const hasVal of [true, false])
            for (const weights of WEIGHT_STORAGES) {
              const c: MapContext = { run: runWith({ lossMode, maxSteps: 100 }, { packing, weights }), kind, hasVal, accum: 2 };
              const ax = mappedKeys('axolotl', c);
              for (const k of Object.keys(ax)) {
                if (k.startsWith('dataset.')) expect(AXOLOTL_DATASET_KEYS, k).toContain(k.slice(8));
                else expect(AXOLOTL_KEYS, k).toContain(k);
              }
              for (const k of Object.keys(ax.bnb_config_kwargs ?? {})) expect(BNB_CONFIG_ARGS, k).toContain(k);
              for (const k of Object.keys(mappedKeys('trl', c))) {
                const [sec, key] = k.split('.');
                expect({ lora: LORA_CONFIG_ARGS, sft: SFT_CONFIG_ARGS, model: MODEL_INIT_ARGS, bnb: BNB_CONFIG_ARGS }[sec], k).toContain(key);
              }
            }
  });

  it('preference runs: Axolotl rl + rl_beta/dpo_label_smoothing or orpo_alpha, TRL DPOConfig/ORPOConfig beta, no SFT-only keys', () => {
    const dpo = { ...runWith({ objective: 'dpo', beta: 0.25, labelSmoothing: 0.1, orpoLambda: 0.7 }, { packing: false }), objective: { kind: 'dpo', beta: 0.25, labelSmoothing: 0.1 } } as RunRecord;
    const orpo = { ...runWith({ objective: 'orpo', beta: 0.25, orpoLambda: 0.7 }, { packing: false }), objective: { kind: 'orpo', lambda: 0.7 } } as RunRecord;
    const ax = (run: RunRecord) => mappedKeys('axolotl', { run, kind: 'preference', hasVal: true, accum: 2 });
    const trl = (run: RunRecord) => mappedKeys('trl', { run, kind: 'preference', hasVal: true, accum: 2 });
    expect(ax(dpo)).toMatchObject({ rl: 'dpo', rl_beta: 0.25, dpo_label_smoothing: 0.1 });
    expect(ax(dpo)).not.toHaveProperty('orpo_alpha');
    expect(ax(dpo)).not.toHaveProperty('dpo_beta'); // deprecated for rl_beta
    expect(ax(orpo)).toMatchObject({ rl: 'orpo', orpo_alpha: 0.7, remove_unused_columns: false });
    expect(ax(orpo)).not.toHaveProperty('rl_beta');
    expect(trl(dpo)).toMatchObject({ 'sft.beta': 0.25, 'sft.label_smoothing': 0.1, 'sft.loss_type': 'sigmoid' });
    expect(trl(orpo)).toMatchObject({ 'sft.beta': 0.7 });
    expect(trl(orpo)).not.toHaveProperty('sft.label_smoothing');
    for (const run of [dpo, orpo]) {
      for (const k of Object.keys(ax(run))) expect(AXOLOTL_KEYS, k).toContain(k);
      for (const k of Object.keys(trl(run))) {
        const [sec, key] = k.split('.');
        expect({ lora: LORA_CONFIG_ARGS, sft: PREF_CONFIG_ARGS, model: MODEL_INIT_ARGS }[sec], k).toContain(key);
      }
    }
    expect(ax(runWith())).not.toHaveProperty('rl');
    expect(trl(runWith())).not.toHaveProperty('sft.beta');
  });

  it('keeps the global batch over GPUs, and says when it cannot', () => {
    expect(effectiveBatch({ batchSize: 4, gradAccum: 2 }, 1)).toMatchObject({ accum: 2, global: 8, exact: true });
    expect(effectiveBatch({ batchSize: 4, gradAccum: 8 }, 4)).toMatchObject({ accum: 2, global: 32, exact: true });
    expect(effectiveBatch({ batchSize: 4, gradAccum: 2 }, 2)).toMatchObject({ accum: 1, global: 8, exact: true });
    expect(effectiveBatch({ batchSize: 4, gradAccum: 2 }, 3)).toMatchObject({ accum: 1, global: 12, exact: false });
    expect(effectiveBatch({ batchSize: 2, gradAccum: 5 }, 2)).toMatchObject({ accum: 3, global: 12, exact: false });
    expect(() => effectiveBatch({ batchSize: 2, gradAccum: 5 }, 0)).toThrow(/gpus/);
  });
});

describe('yaml', () => {
  it('reads back what it writes, tricky strings and floats included', () => {
    const doc = {
      a: 'yes', b: '1e-8', c: 'a: b', d: '{instruction}', e: 'é "q"', f: 1e-8, g: 2e-4, h: 0, i: null, j: true, k: [], l: {},
      m: ['q_proj', 'no', '3'], n: [{ path: 'data/x.jsonl', type: { format: '{instruction}', system_prompt: '' }, roles: ['assistant'] }],
      o: { p: { q: -1.5 } },
    };
    expect(readYaml(toYaml(doc, ['header']))).toEqual(doc);
    expect(toYaml({ eps: 1e-8 })).toBe('eps: 1.0e-8\n');
  });
});

describe('recipe files', () => {
  const tok = loadTokenizer(tinyTokenizerFiles());

  for (const target of RECIPE_TARGETS)
    for (const kind of ['chat', 'completion', 'text'] as const)
      for (const lossMode of kind === 'chat' ? LOSS_MODES : (['all-assistant'] as LossMode[]))
        it(`${target}, ${kind}, ${lossMode}: the data files hold the split the run trained on, with the same masks`, async () => {
          const examples = await examplesOf(jsonlBytes(DATA[kind]));
          const run = runWith({ lossMode, valSplit: 0.25, seed: 7 });
          const files = recipeFiles(target, run, examples, { gpus: 1 });
          const expected = splitTrainVal(examples, { valFraction: 0.25, seed: 7 });
          for (const [name, want] of [[TRAIN_FILE, expected.train], [VAL_FILE, expected.val]] as const) {
            let bytes = new TextEncoder().encode(file(files, name));
            if (target === 'trl' && lossMode === 'last-assistant' && kind === 'chat') {
              // Conversational prompt/completion: our parser reads conversations, so join them back.
              const rows = file(files, name).trim().split('\n').map((l) => JSON.parse(l) as { prompt: unknown[]; completion: unknown[] });
              bytes = jsonlBytes(rows.map((r) => ({ messages: [...r.prompt, ...r.completion] })));
            }
            const back = await examplesOf(bytes);
            expect(back.map((e) => [e.kind, e.messages])).toEqual(want.map((e) => [e.kind, e.messages]));
            const a = await tokenizeExamples(tok, back, { lossMode });
            const b = await tokenizeExamples(tok, want, { lossMode });
            expect(a.errors).toEqual([]);
            expect(a.examples.map((e) => [Array.from(e.inputIds), Array.from(e.labels)])).toEqual(b.examples.map((e) => [Array.from(e.inputIds), Array.from(e.labels)]));
          }
          if (target === 'axolotl') {
            const cfg = readYaml(file(files, 'config.yml')) as Record<string, YamlValue>;
            for (const k of Object.keys(cfg)) expect(AXOLOTL_KEYS, k).toContain(k);
            for (const d of [...(cfg.datasets as Record<string, YamlValue>[]), ...(cfg.test_datasets as Record<string, YamlValue>[])])
              for (const k of Object.keys(d)) expect(AXOLOTL_DATASET_KEYS, k).toContain(k);
            expect(cfg).toMatchObject({ lora_r: 8, lora_alpha: 16, sequence_len: 512, micro_batch_size: 4, gradient_accumulation_steps: 2, seed: 7 });
          } else {
            const py = file(files, 'train.py');
            const argsOf = (call: string) => [...(new RegExp(`${call}\\(\\n([\\s\\S]*?)\\n\\)`).exec(py)?.[1] ?? '').matchAll(/^ {4}(\w+)=/gm)].map((m) => m[1]);
            expect(argsOf('LoraConfig').length).toBeGreaterThan(5);
            for (const k of argsOf('LoraConfig')) expect(LORA_CONFIG_ARGS, k).toContain(k);
            expect(argsOf('SFTConfig').length).toBeGreaterThan(20);
            for (const k of argsOf('SFTConfig')) expect(SFT_CONFIG_ARGS, k).toContain(k);
            expect(readYaml(file(files, 'accelerate.yaml'))).toMatchObject({ num_processes: 1, distributed_type: 'NO' });
          }
        });

  it('the README gives the command and the batch, and says when the batch is not the run’s', async () => {
    const examples = await examplesOf(jsonlBytes(DATA.chat));
    const readme = file(recipeFiles('axolotl', runWith(), examples, { gpus: 3 }), 'README.md');
    // The process count is the GPU count the batch was adjusted for, not every GPU accelerate sees.
    expect(readme).toContain('accelerate launch --num_processes 3 -m axolotl.cli.train config.yml\n');
    expect(readme).toMatch(/global batch 12 .*NOT the studio run's 8/);
    expect(readme).toContain('sampleEvery:');
    const trl = recipeFiles('trl', runWith(), examples, { gpus: 2 });
    expect(file(trl, 'README.md')).toContain('accelerate launch --config_file accelerate.yaml train.py');
    expect(readYaml(file(trl, 'accelerate.yaml'))).toMatchObject({ num_processes: 2, distributed_type: 'MULTI_GPU' });
    expect(file(trl, 'train.py')).toContain('gradient_accumulation_steps=1,');
    expect(readYaml(file(recipeFiles('axolotl', runWith(), examples, { gpus: 2 }), 'config.yml'))).toMatchObject({ deepspeed: 'deepspeed_zero2.json', gradient_accumulation_steps: 1 });
  });

  it('a run on a quantized base (q4: QLoRA, q8) loads its base with bitsandbytes in both targets, and the README says so', async () => {
    const examples = await examplesOf(jsonlBytes(DATA.chat));
    const files = (weights: RunRecord['engine']['weights'], target: RecipeTarget) => recipeFiles(target, runWith({}, { weights }), examples, { gpus: 1 });
    const axolotl = (weights: RunRecord['engine']['weights']) => readYaml(file(files(weights, 'axolotl'), 'config.yml')) as Record<string, YamlValue>;
    expect(axolotl('q4')).toMatchObject({ adapter: 'qlora', load_in_4bit: true, load_in_8bit: false, bnb_config_kwargs: { bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true }, bf16: false, fp16: false });
    expect(axolotl('q8')).toMatchObject({ adapter: 'lora', load_in_4bit: false, load_in_8bit: true });
    for (const w of ['f32', 'f16'] as const) {
      expect(axolotl(w)).toMatchObject({ adapter: 'lora', load_in_4bit: false, load_in_8bit: false });
      expect(axolotl(w)).not.toHaveProperty('bnb_config_kwargs');
      expect(file(files(w, 'trl'), 'train.py')).not.toContain('BitsAndBytesConfig');
    }
    const q4 = file(files('q4', 'trl'), 'train.py');
    expect(q4).toContain('from transformers import BitsAndBytesConfig\n');
    expect(q4).toContain('quantization_config = BitsAndBytesConfig(\n    load_in_4bit=True,\n    bnb_4bit_quant_type="nf4",\n    bnb_4bit_use_double_quant=True,\n    bnb_4bit_compute_dtype="float32",\n)');
    expect(q4).toMatch(/model_init_kwargs=\{\*\*\{.*"torch_dtype": "float32".*\}, "quantization_config": quantization_config, "device_map": \{"": PartialState\(\)\.local_process_index\}\},/);
    expect(q4).toContain('from accelerate import PartialState\n');
    expect(file(files('q8', 'trl'), 'train.py')).toContain('quantization_config = BitsAndBytesConfig(\n    load_in_8bit=True,\n)');
    for (const target of RECIPE_TARGETS) {
      const readme = file(files('q4', target), 'README.md');
      expect(readme).toContain('QLoRA (4-bit base)');
      expect(readme).toMatch(/uses bitsandbytes quantization instead \(4-bit NF4 with double quantization, as QLoRA does\), not our GGUF blocks/);
      expect(readme).toMatch(/weights: the studio trained on a 4-bit base .* not our GGUF blocks/);
      expect(file(files('q8', target), 'README.md')).toContain('(8-bit LLM.int8), not our GGUF blocks');
      expect(file(files('f32', target), 'README.md')).not.toContain('bitsandbytes');
    }
    expect(file(files('q4', 'trl'), 'README.md')).toContain('"bitsandbytes>=0.45"');
  });

  it('names the Axolotl/TRL/PEFT versions it was written for, as pip installs them', async () => {
    const examples = await examplesOf(jsonlBytes(DATA.chat));
    const ax = recipeFiles('axolotl', runWith(), examples, { gpus: 1 });
    expect(file(ax, 'config.yml')).toMatch(/^# LoRA Studio run as an Axolotl recipe, written for axolotl==0\.10\.\*, peft>=0\.15;/);
    expect(file(ax, 'README.md')).toContain('pip install "axolotl[deepspeed,flash-attn]==0.10.*"\n');
    const trl = recipeFiles('trl', runWith(), examples, { gpus: 1 });
    expect(file(trl, 'train.py')).toMatch(/^# LoRA Studio run as a TRL recipe, written for trl>=0\.20,<0\.26, peft>=0\.15;/);
    expect(file(trl, 'README.md')).toContain('pip install "trl>=0.20,<0.26" "peft>=0.15" "transformers>=4.53.2" "accelerate>=1.4" datasets flash-attn\n');
  });

  it('writes no held-out file when the run held nothing out', async () => {
    const files = recipeFiles('trl', runWith({ valSplit: 0 }), await examplesOf(jsonlBytes(DATA.chat)), { gpus: 1 });
    expect(files.map((f) => f.name)).not.toContain(VAL_FILE);
    expect(file(files, 'train.py')).toContain('eval_dataset=None');
    expect(file(files, 'train.py')).toContain('eval_strategy="no"');
  });

  it.each(['dpo', 'orpo'] as const)('%s: the Axolotl config and its dataset entries use documented keys only, the TRL script its config class’s arguments', async (objective) => {
    const examples = await examplesOf(jsonlBytes(DATA.pairs));
    const ax = recipeFiles('axolotl', preferenceRun(objective), examples, { gpus: 2 });
    const cfg = readYaml(file(ax, 'config.yml')) as Record<string, YamlValue>;
    for (const k of Object.keys(cfg)) expect(AXOLOTL_KEYS, k).toContain(k);
    for (const d of [...(cfg.datasets as Record<string, YamlValue>[]), ...(cfg.test_datasets as Record<string, YamlValue>[])]) {
      for (const k of Object.keys(d)) expect(AXOLOTL_DATASET_KEYS, k).toContain(k);
      expect(d.type).toBe(objective === 'orpo' ? 'chat_template.argilla' : 'chat_template.default');
    }
    expect(cfg).toMatchObject(objective === 'orpo' ? { rl: 'orpo', orpo_alpha: 0.3, remove_unused_columns: false, chat_template: 'tokenizer_default' } : { rl: 'dpo', rl_beta: 0.2, dpo_label_smoothing: 0.05 });
    const py = file(recipeFiles('trl', preferenceRun(objective), examples, { gpus: 2 }), 'train.py');
    const config = objective === 'orpo' ? 'ORPOConfig' : 'DPOConfig';
    expect(py).toContain(`from trl import ${config}, ${objective === 'orpo' ? 'ORPOTrainer' : 'DPOTrainer'}\n`);
    const args = [...(new RegExp(`${config}\\(\\n([\\s\\S]*?)\\n\\)`).exec(py)?.[1] ?? '').matchAll(/^ {4}(\w+)=/gm)].map((m) => m[1]);
    expect(args.length).toBeGreaterThan(20);
    for (const k of args) expect(PREF_CONFIG_ARGS, k).toContain(k);
  });

  // A known run, fixed settings → the exact files, committed (UPDATE_GOLDEN=1 rewrites them after a deliberate change).
  const GOLDEN_SETTINGS: Partial<TrainSettings> = { rank: 16, alpha: 32, rslora: true, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], learningRate: 1e-4, schedule: 'linear', warmupSteps: 20, epochs: 3, batchSize: 2, gradAccum: 8, seqLen: 1024, valSplit: 0.2, evalEvery: 10, checkpointEvery: 50, seed: 1234, lossMode: 'last-assistant' };
  const GOLDEN_ENGINE: Partial<RunRecord['engine']> = { weightDecay: 0.01, maxGradNorm: 0.5 };
  it.each([
    ['axolotl', 'config.yml', 'axolotl-config.yml', 'sft', 'f32'],
    ['trl', 'train.py', 'trl-train.py', 'sft', 'f32'],
    // QLoRA runs on pairs: Axolotl's ORPO layout and a TRL DPO script loading a 4-bit base.
    ['axolotl', 'config.yml', 'axolotl-qlora-orpo-config.yml', 'orpo', 'q4'],
    ['trl', 'train.py', 'trl-qlora-dpo-train.py', 'dpo', 'q4'],
  ] as [RecipeTarget, string, string, Objective['kind'], RunRecord['engine']['weights']][])('%s golden %s → %s (%s, %s weights)', async (target, name, golden, objective, weights) => {
    const run = objective === 'sft' ? runWith(GOLDEN_SETTINGS, { ...GOLDEN_ENGINE, weights }) : preferenceRun(objective, GOLDEN_SETTINGS, { ...GOLDEN_ENGINE, weights });
    const text = file(recipeFiles(target, run, await examplesOf(jsonlBytes(objective === 'sft' ? DATA.chat : DATA.pairs)), { gpus: 4 }), name);
    const path = join(__dirname, 'golden', golden);
    if (process.env.UPDATE_GOLDEN) writeFileSync(path, text);
    expect(text).toBe(readFileSync(path, 'utf8'));
  });
});

describe('run record', () => {
  it('round-trips and refuses what is not one', () => {
    const r = runWith({ rank: 4 });
    expect(decodeRunRecord(encodeRunRecord(r))).toEqual(r);
    expect(() => decodeRunRecord('{}')).toThrow(/not a LoRA Studio training record/);
    expect(() => decodeRunRecord('nope')).toThrow(/not JSON/);
    const bad = JSON.parse(encodeRunRecord(r)) as { settings: { rank: number } };
    bad.settings.rank = 0;
    expect(() => decodeRunRecord(JSON.stringify(bad))).toThrow(/Rank/);
  });
});
