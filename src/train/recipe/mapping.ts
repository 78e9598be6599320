// How a studio run maps onto Axolotl and TRL: ONE table entry per training setting (every key of
// SETTINGS) and per engine option, each either the target's keys and values or an explicit
// "unmapped: reason". The recipe writer (recipe.ts) only assembles what this table says.
//
// Key names: Axolotl keys are top-level config keys, or `dataset.<key>` for keys of a `datasets`
// entry. TRL keys are `lora.<arg>` (peft.LoraConfig), `sft.<arg>` (trl.SFTConfig, which extends
// transformers.TrainingArguments), `model.<arg>` (SFTConfig.model_init_kwargs, passed to
// from_pretrained) and `bnb.<arg>` (transformers.BitsAndBytesConfig, for a quantized base).
import { defaultOptimConfig } from '../../engine/optim/config';
import type { ExampleKind } from '../../data/types';
import type { WeightStorage } from '../../engine/model/weights';
import type { LossMode, SettingKey, TrainSettings } from '../settings';
import type { Objective, RunRecord } from './run-record';
import type { YamlValue } from './yaml';

export const RECIPE_TARGETS = ['axolotl', 'trl'] as const;
export type RecipeTarget = (typeof RECIPE_TARGETS)[number];

/**
 * The versions the mapping is written against (their config keys and defaults), as pip
 * specifiers. Axolotl 0.10 is the first whose config schema has dpo_label_smoothing (it pins its
 * own peft/trl/transformers); TRL 0.26 moved ORPOTrainer to trl.experimental (0.29 dropped the
 * old import), and TRL 0.20 requires transformers 4.53.2.
 */
export const TARGET_VERSIONS = {
  axolotl: '==0.10.*',
  trl: '>=0.20,<0.26',
  peft: '>=0.15',
  transformers: '>=4.53.2',
  accelerate: '>=1.4',
  bitsandbytes: '>=0.45',
} as const;

export interface MapContext {
  run: RunRecord;
  /** The kind of every example (a dataset file has one). */
  kind: ExampleKind;
  /** Whether a held-out file is written (valSplit > 0 left validation rows). */
  hasVal: boolean;
  /** Gradient accumulation per GPU for the chosen GPU count (effectiveBatch). */
  accum: number;
}

/** A caveat for the README; a function when it depends on the run. */
export type MappingNote = string | ((run: RunRecord) => string);
export type Mapping = { set: (c: MapContext) => Record<string, YamlValue>; note?: MappingNote } | { unmapped: string };
export type TargetMappings = Record<RecipeTarget, Mapping>;

/** How the examples are laid out in the recipe's JSONL for a target. */
export type DataLayout =
  | 'messages' // {"messages": [...]}
  | 'messages-training' // {"messages": [...]} with "training": false on assistant turns that do not train
  | 'conversational-prompt-completion' // {"prompt": [...messages], "completion": [assistant]}
  | 'prompt-completion' // {"prompt": str, "completion": str}
  | 'text' // {"text": str}
  | 'preference' // TRL: {"prompt", "chosen", "rejected"}, message lists (conversational) or strings
  | 'axolotl-preference' // Axolotl DPO: chat_template.default {"messages", "chosen": msg, "rejected": msg}, or plain strings (user_defined)
  | 'axolotl-orpo'; // Axolotl ORPO: chat_template.argilla {"system"?, "chosen": [...turns, reply], "rejected": [...turns, reply]}

export function dataLayout(target: RecipeTarget, kind: ExampleKind, lossMode: LossMode, objective: Objective['kind']): DataLayout {
  if (kind === 'text') return 'text';
  if (kind === 'completion') return 'prompt-completion';
  // Axolotl documents one dataset type for ORPO (docs/rlhf.qmd), others for DPO.
  if (kind === 'preference') return target === 'trl' ? 'preference' : objective === 'orpo' ? 'axolotl-orpo' : 'axolotl-preference';
  if (lossMode !== 'last-assistant') return 'messages';
  // Axolotl masks per message; TRL has no per-turn flag, but trains exactly a conversational completion.
  return target === 'axolotl' ? 'messages-training' : 'conversational-prompt-completion';
}

const SCHEDULER: Record<TrainSettings['schedule'], string> = {
  // The engine's schedules are HF's (engine/optim/schedule.ts): linear warm-up, then constant / linear / cosine to 0.
  constant: 'constant_with_warmup',
  linear: 'linear',
  cosine: 'cosine',
};

// Preference pairs always train their completions only (data/tokenize.ts tokenizePair): no loss-mode keys.
function axolotlLoss(c: MapContext): Record<string, YamlValue> {
  if (c.kind === 'preference') return {};
  if (c.kind === 'completion') return { train_on_inputs: false };
  if (c.kind === 'text') return { train_on_inputs: true };
  switch (c.run.settings.lossMode) {
    case 'all-assistant':
      return { train_on_inputs: false, 'dataset.roles_to_train': ['assistant'], 'dataset.train_on_eos': 'turn' };
    case 'last-assistant':
      // Earlier assistant turns carry "training": false in the data file (dataLayout).
      return { train_on_inputs: false, 'dataset.roles_to_train': ['assistant'], 'dataset.train_on_eos': 'turn', 'dataset.message_field_training': 'training' };
    case 'all':
      return { train_on_inputs: true, 'dataset.roles_to_train': ['system', 'user', 'assistant'], 'dataset.train_on_eos': 'all' };
  }
}

function trlLoss(c: MapContext): Record<string, YamlValue> {
  if (c.kind === 'preference') return {};
  if (c.kind === 'completion') return { 'sft.completion_only_loss': true };
  if (c.kind === 'text') return { 'sft.completion_only_loss': null, 'sft.assistant_only_loss': false };
  switch (c.run.settings.lossMode) {
    case 'all-assistant':
      return { 'sft.assistant_only_loss': true };
    case 'last-assistant':
      return { 'sft.completion_only_loss': true, 'sft.assistant_only_loss': false };
    case 'all':
      return { 'sft.assistant_only_loss': false };
  }
}

const evalOn = (c: MapContext, keys: Record<string, YamlValue>) => (c.hasVal ? keys : {});

/** The run's objective when it is `kind`, else undefined (its settings map to nothing otherwise). */
function objectiveOf<K extends Objective['kind']>(c: MapContext, kind: K): Extract<Objective, { kind: K }> | undefined {
  return c.run.objective.kind === kind ? (c.run.objective as Extract<Objective, { kind: K }>) : undefined;
}
const ifDpo = (c: MapContext, keys: (o: Extract<Objective, { kind: 'dpo' }>) => Record<string, YamlValue>) => {
  const o = objectiveOf(c, 'dpo');
  return o ? keys(o) : {};
};
const ifOrpo = (c: MapContext, keys: (o: Extract<Objective, { kind: 'orpo' }>) => Record<string, YamlValue>) => {
  const o = objectiveOf(c, 'orpo');
  return o ? keys(o) : {};
};

export const SETTING_MAP: Record<SettingKey, TargetMappings> = {
  objective: {
    // The trainer itself (Axolotl `rl`, TRL's DPOTrainer/ORPOTrainer) is OBJECTIVE_MAP's.
    axolotl: { set: (c) => OBJECTIVE_MAP[c.run.objective.kind].keys.axolotl },
    trl: { set: (c) => OBJECTIVE_MAP[c.run.objective.kind].keys.trl },
  },
  beta: {
    // rl_beta: Axolotl's documented key (dpo_beta is deprecated for it).
    axolotl: { set: (c) => ifDpo(c, (o) => ({ rl_beta: o.beta })) },
    trl: { set: (c) => ifDpo(c, (o) => ({ 'sft.beta': o.beta })) },
  },
  labelSmoothing: {
    axolotl: { set: (c) => ifDpo(c, (o) => ({ dpo_label_smoothing: o.labelSmoothing })) },
    trl: { set: (c) => ifDpo(c, (o) => ({ 'sft.loss_type': 'sigmoid', 'sft.label_smoothing': o.labelSmoothing })) },
  },
  orpoLambda: {
    // TRL's ORPOConfig calls λ `beta`; Axolotl calls it orpo_alpha.
    axolotl: { set: (c) => ifOrpo(c, (o) => ({ orpo_alpha: o.lambda })) },
    trl: { set: (c) => ifOrpo(c, (o) => ({ 'sft.beta': o.lambda })) },
  },
  rank: { axolotl: { set: (c) => ({ lora_r: c.run.settings.rank }) }, trl: { set: (c) => ({ 'lora.r': c.run.settings.rank }) } },
  alpha: { axolotl: { set: (c) => ({ lora_alpha: c.run.settings.alpha }) }, trl: { set: (c) => ({ 'lora.lora_alpha': c.run.settings.alpha }) } },
  dropout: { axolotl: { set: (c) => ({ lora_dropout: c.run.settings.dropout }) }, trl: { set: (c) => ({ 'lora.lora_dropout': c.run.settings.dropout }) } },
  rslora: { axolotl: { set: (c) => ({ peft_use_rslora: c.run.settings.rslora }) }, trl: { set: (c) => ({ 'lora.use_rslora': c.run.settings.rslora }) } },
  targets: {
    axolotl: { set: (c) => ({ lora_target_modules: [...c.run.settings.targets] }) },
    trl: { set: (c) => ({ 'lora.target_modules': [...c.run.settings.targets] }) },
  },
  learningRate: { axolotl: { set: (c) => ({ learning_rate: c.run.settings.learningRate }) }, trl: { set: (c) => ({ 'sft.learning_rate': c.run.settings.learningRate }) } },
  warmupSteps: { axolotl: { set: (c) => ({ warmup_steps: c.run.settings.warmupSteps }) }, trl: { set: (c) => ({ 'sft.warmup_steps': c.run.settings.warmupSteps }) } },
  schedule: { axolotl: { set: (c) => ({ lr_scheduler: SCHEDULER[c.run.settings.schedule] }) }, trl: { set: (c) => ({ 'sft.lr_scheduler_type': SCHEDULER[c.run.settings.schedule] }) } },
  epochs: { axolotl: { set: (c) => ({ num_epochs: c.run.settings.epochs }) }, trl: { set: (c) => ({ 'sft.num_train_epochs': c.run.settings.epochs }) } },
  maxSteps: {
    // 0 runs the epochs, as in both trainers; a positive value overrides the epochs, as in both.
    axolotl: { set: (c) => ({ max_steps: c.run.settings.maxSteps > 0 ? c.run.settings.maxSteps : null }) },
    trl: { set: (c) => ({ 'sft.max_steps': c.run.settings.maxSteps > 0 ? c.run.settings.maxSteps : -1 }) },
  },
  batchSize: {
    axolotl: { set: (c) => ({ micro_batch_size: c.run.settings.batchSize, ...evalOn(c, { eval_batch_size: c.run.settings.batchSize }) }) },
    trl: { set: (c) => ({ 'sft.per_device_train_batch_size': c.run.settings.batchSize, 'sft.per_device_eval_batch_size': c.run.settings.batchSize }) },
  },
  gradAccum: {
    axolotl: { set: (c) => ({ gradient_accumulation_steps: c.accum }), note: 'adjusted for --gpus so the global batch stays the studio run’s' },
    trl: { set: (c) => ({ 'sft.gradient_accumulation_steps': c.accum }), note: 'adjusted for --gpus so the global batch stays the studio run’s' },
  },
  seqLen: { axolotl: { set: (c) => ({ sequence_len: c.run.settings.seqLen }) }, trl: { set: (c) => ({ 'sft.max_length': c.run.settings.seqLen }) } },
  valSplit: {
    // The split the run made is written as its own file, so both trainers evaluate on exactly those rows.
    axolotl: { set: () => ({ val_set_size: 0 }), note: 'the run’s held-out rows are data/val.jsonl (test_datasets)' },
    trl: { set: (c) => ({ 'sft.eval_strategy': c.hasVal ? 'steps' : 'no' }), note: 'the run’s held-out rows are data/val.jsonl (eval_dataset)' },
  },
  evalEvery: {
    axolotl: { set: (c) => evalOn(c, { eval_steps: c.run.settings.evalEvery }) },
    trl: { set: (c) => evalOn(c, { 'sft.eval_steps': c.run.settings.evalEvery }) },
  },
  sampleEvery: {
    axolotl: { unmapped: 'the studio generates answers to held-out prompts while training; Axolotl has no such cadence' },
    trl: { unmapped: 'the studio generates answers to held-out prompts while training; SFTTrainer has no such cadence' },
  },
  checkpointEvery: {
    axolotl: { set: (c) => ({ save_strategy: 'steps', save_steps: c.run.settings.checkpointEvery }) },
    trl: { set: (c) => ({ 'sft.save_strategy': 'steps', 'sft.save_steps': c.run.settings.checkpointEvery }) },
  },
  seed: {
    axolotl: { set: (c) => ({ seed: c.run.settings.seed }), note: 'the same seed, not the same shuffle or initialisation: each trainer has its own generator' },
    trl: { set: (c) => ({ 'sft.seed': c.run.settings.seed, 'sft.data_seed': c.run.settings.seed }), note: 'the same seed, not the same shuffle or initialisation: each trainer has its own generator' },
  },
  lossMode: {
    axolotl: { set: axolotlLoss },
    trl: {
      set: trlLoss,
      note: 'assistant_only_loss needs a chat template with {% generation %} tags (TRL raises otherwise); the last-turn mode is written as conversational prompt/completion instead',
    },
  },
};

export const ENGINE_MAP: Record<keyof RunRecord['engine'], TargetMappings> = {
  packing: {
    // Packed sequences never attend to each other in the studio; both trainers need flash attention for that.
    axolotl: { set: (c): Record<string, YamlValue> => (c.run.engine.packing ? { sample_packing: true, eval_sample_packing: false, pad_to_sequence_len: true, flash_attention: true } : { sample_packing: false }) },
    trl: {
      // DPOConfig/ORPOConfig have no `packing` (pairs are never packed in the studio either).
      set: (c): Record<string, YamlValue> => (c.kind === 'preference' ? {} : c.run.engine.packing ? { 'sft.packing': true, 'sft.packing_strategy': 'bfd', 'sft.padding_free': true, 'model.attn_implementation': 'flash_attention_2' } : { 'sft.packing': false }),
    },
  },
  maxGradNorm: { axolotl: { set: (c) => ({ max_grad_norm: c.run.engine.maxGradNorm }) }, trl: { set: (c) => ({ 'sft.max_grad_norm': c.run.engine.maxGradNorm }) } },
  weightDecay: { axolotl: { set: (c) => ({ weight_decay: c.run.engine.weightDecay }) }, trl: { set: (c) => ({ 'sft.weight_decay': c.run.engine.weightDecay }) } },
  weights: {
    // The studio computes in f32 whatever the storage: f16 storage only rounds the frozen weights,
    // q8/q4 quantize them (QLoRA). The cluster quantizes with bitsandbytes as QLoRA does (4-bit
    // NF4 with double quantization) or LLM.int8, and computes in float32.
    axolotl: { set: (c) => ({ ...AXOLOTL_BASE[c.run.engine.weights], bf16: false, fp16: false, tf32: false }), note: weightsNote },
    trl: { set: (c) => ({ 'model.torch_dtype': 'float32', ...TRL_BASE[c.run.engine.weights], 'sft.bf16': false, 'sft.fp16': false, 'sft.tf32': false }), note: weightsNote },
  },
  recompute: {
    axolotl: { set: (c) => ({ gradient_checkpointing: c.run.engine.recompute !== false }) },
    trl: { set: (c) => ({ 'sft.gradient_checkpointing': c.run.engine.recompute !== false }) },
  },
};

const FULL_PRECISION_AXOLOTL = { adapter: 'lora', load_in_4bit: false, load_in_8bit: false };
/** Axolotl's adapter and base loading per weight storage ("qlora" is its name for LoRA on a 4-bit base). */
const AXOLOTL_BASE: Record<WeightStorage, Record<string, YamlValue>> = {
  f32: FULL_PRECISION_AXOLOTL,
  f16: FULL_PRECISION_AXOLOTL,
  q8: { adapter: 'lora', load_in_4bit: false, load_in_8bit: true },
  q4: { adapter: 'qlora', load_in_4bit: true, load_in_8bit: false, bnb_config_kwargs: { bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true } },
};
/** TRL's BitsAndBytesConfig arguments per weight storage (none for a float base). */
const TRL_BASE: Record<WeightStorage, Record<string, YamlValue>> = {
  f32: {},
  f16: {},
  q8: { 'bnb.load_in_8bit': true },
  q4: { 'bnb.load_in_4bit': true, 'bnb.bnb_4bit_quant_type': 'nf4', 'bnb.bnb_4bit_use_double_quant': true, 'bnb.bnb_4bit_compute_dtype': 'float32' },
};

function weightsNote(run: RunRecord): string {
  const w = run.engine.weights;
  if (w === 'f32') return 'trains in float32, as the studio computes';
  if (w === 'f16') return 'trains in float32, as the studio computes; its f16 weight storage (a memory saving) is not reproduced';
  const studio = w === 'q4' ? 'a 4-bit base (GGUF Q4_0 linears, Q8_0 embedding/LM head)' : 'an 8-bit base (GGUF Q8_0)';
  const cluster = w === 'q4' ? '4-bit NF4 with double quantization, as QLoRA does' : '8-bit LLM.int8';
  return `the studio trained on ${studio}; the cluster run quantizes the base with bitsandbytes (${cluster}), not our GGUF blocks, so the frozen weights, and the losses, differ slightly`;
}

/** What the studio's engine fixes (AdamW, its constants, logging every step): not settings, but part of the run. */
const OPT = defaultOptimConfig();
export const FIXED_MAP: Record<RecipeTarget, Record<string, YamlValue>> = {
  axolotl: { optimizer: 'adamw_torch', adam_beta1: OPT.beta1, adam_beta2: OPT.beta2, adam_epsilon: OPT.eps, logging_steps: 1 },
  trl: { 'sft.optim': 'adamw_torch', 'sft.adam_beta1': OPT.beta1, 'sft.adam_beta2': OPT.beta2, 'sft.adam_epsilon': OPT.eps, 'sft.logging_steps': 1 },
};

/** The base model: its id and revision (how it is loaded, quantized or not, is ENGINE_MAP.weights). */
export function baseKeys(target: RecipeTarget, base: RunRecord['base']): Record<string, YamlValue> {
  if (target === 'axolotl') return { base_model: base.id, ...(base.revision ? { revision_of_model: base.revision } : {}) };
  return base.revision ? { 'model.revision': base.revision } : {};
}

/**
 * The objective's trainer: Axolotl's `rl` and TRL's trainer and config class (their β/λ keys are
 * SETTING_MAP's). TRL's config arguments all go under the `sft.` prefix (TrainingArguments).
 */
export const OBJECTIVE_MAP: Record<Objective['kind'], { keys: Record<RecipeTarget, Record<string, YamlValue>>; trlTrainer: { trainer: string; config: string } }> = {
  sft: { keys: { axolotl: {}, trl: {} }, trlTrainer: { trainer: 'SFTTrainer', config: 'SFTConfig' } },
  dpo: { keys: { axolotl: { rl: 'dpo' }, trl: {} }, trlTrainer: { trainer: 'DPOTrainer', config: 'DPOConfig' } },
  // Axolotl's ORPO docs set remove_unused_columns: false (its tokenized pairs carry extra columns).
  orpo: { keys: { axolotl: { rl: 'orpo', remove_unused_columns: false }, trl: {} }, trlTrainer: { trainer: 'ORPOTrainer', config: 'ORPOConfig' } },
};

export interface EffectiveBatch {
  /** Sequences per optimizer step in the studio run (batch × accumulation). */
  studio: number;
  gpus: number;
  micro: number;
  /** Accumulation per GPU: round(studio / (micro × gpus)), at least 1. */
  accum: number;
  /** micro × accum × gpus: the recipe's global batch. */
  global: number;
  exact: boolean;
}

export function effectiveBatch(s: Pick<TrainSettings, 'batchSize' | 'gradAccum'>, gpus: number): EffectiveBatch {
  if (!Number.isInteger(gpus) || gpus < 1) throw new Error(`gpus must be a whole number of at least 1, got ${gpus}`);
  const studio = s.batchSize * s.gradAccum;
  const accum = Math.max(1, Math.round(studio / (s.batchSize * gpus)));
  const global = s.batchSize * accum * gpus;
  return { studio, gpus, micro: s.batchSize, accum, global, exact: global === studio };
}

/** Every entry that applies to a target, in order: settings, engine options, fixed values. */
export function mappedKeys(target: RecipeTarget, c: MapContext): Record<string, YamlValue> {
  const out: Record<string, YamlValue> = { ...baseKeys(target, c.run.base) };
  for (const m of [...Object.values(SETTING_MAP), ...Object.values(ENGINE_MAP)]) {
    const t = m[target];
    if ('set' in t) Object.assign(out, t.set(c));
  }
  return { ...out, ...FIXED_MAP[target] };
}

/** The lines the README lists under "not reproduced": unmapped entries and caveats of mapped ones. */
export function mappingNotes(target: RecipeTarget, run: RunRecord): { unmapped: string[]; caveats: string[] } {
  const unmapped: string[] = [];
  const caveats: string[] = [];
  for (const [key, m] of [...Object.entries(SETTING_MAP), ...Object.entries(ENGINE_MAP)] as [string, TargetMappings][]) {
    const t = m[target];
    if ('unmapped' in t) unmapped.push(`${key}: ${t.unmapped}`);
    else if (t.note) caveats.push(`${key}: ${typeof t.note === 'string' ? t.note : t.note(run)}`);
  }
  return { unmapped, caveats };
}
