// A studio run written as an Axolotl or TRL recipe: the examples it trained on (and its held-out
// split) as JSONL, the trainer's config (Axolotl YAML / a TRL SFTTrainer script), a multi-GPU
// launch config and a README. What each setting becomes is mapping.ts's table; this file only
// assembles files. Pure: names and texts, the CLI (or the worker) writes them.
import { splitTrainVal } from '../../data/split';
import type { Example, ExampleKind, Message, PreferenceExample } from '../../data/types';
import { dataLayout, effectiveBatch, mappedKeys, mappingNotes, TARGET_VERSIONS, OBJECTIVE_MAP, type DataLayout, type EffectiveBatch, type MapContext, type RecipeTarget } from './mapping';
import type { RunRecord } from './run-record';
import { toYaml, type YamlValue } from './yaml';

export interface RecipeFile {
  name: string;
  text: string;
}

export const TRAIN_FILE = 'data/train.jsonl';
export const VAL_FILE = 'data/val.jsonl';
const OUTPUT_DIR = 'outputs';

const msgs = (ms: readonly Message[]) => ms.map((m) => ({ role: m.role, content: m.content }));

type PairLayout = 'preference' | 'axolotl-preference' | 'axolotl-orpo';
const PAIR_LAYOUTS: readonly DataLayout[] = ['preference', 'axolotl-preference', 'axolotl-orpo'] satisfies PairLayout[];

/** A preference pair as the target reads it (TRL's layout, Axolotl's DPO chat_template.default / user_defined, or its ORPO chat_template.argilla). */
function preferenceRow(ex: PreferenceExample, layout: PairLayout): Record<string, unknown> {
  const where = `row ${ex.row + 1}: Axolotl's ${layout === 'axolotl-orpo' ? 'ORPO layout (chat_template.argilla)' : 'chat_template DPO layout'}`;
  // Plain pairs (raw prompt + completion, no chat template) are strings for TRL and Axolotl's DPO.
  if (!ex.conversational) {
    if (layout === 'axolotl-orpo') throw new Error(`${where} reads conversations through a chat template, this pair is plain text (export for TRL instead)`);
    return { prompt: ex.messages[0].content, chosen: ex.chosen[0].content, rejected: ex.rejected[0].content };
  }
  if (layout === 'preference') return { prompt: msgs(ex.messages), chosen: msgs(ex.chosen), rejected: msgs(ex.rejected) };
  // Both Axolotl layouts take one reply message per side after the shared messages.
  if (ex.chosen.length !== 1 || ex.rejected.length !== 1) {
    throw new Error(`${where} takes one reply per side, this pair has ${ex.chosen.length} chosen and ${ex.rejected.length} rejected messages (export for TRL instead)`);
  }
  if (layout === 'axolotl-preference') return { messages: msgs(ex.messages), chosen: msgs(ex.chosen)[0], rejected: msgs(ex.rejected)[0] };
  // chat_template.argilla: an optional non-empty system string, then each side repeats the prompt's
  // turns, alternating user/assistant from a user turn, and ends with its reply.
  const system = ex.messages[0]?.role === 'system' ? ex.messages[0] : null;
  const turns = ex.messages.slice(system ? 1 : 0);
  const alternating = turns.length % 2 === 1 && turns.every((m, i) => m.role === (i % 2 === 0 ? 'user' : 'assistant'));
  if (!alternating || (system && !system.content)) {
    throw new Error(`${where} takes an optional non-empty system message, then user/assistant turns alternating from a user turn up to the reply; this pair's prompt is ${ex.messages.map((m) => m.role).join(', ')} (export for TRL instead)`);
  }
  return { ...(system ? { system: system.content } : {}), chosen: msgs([...turns, ...ex.chosen]), rejected: msgs([...turns, ...ex.rejected]) };
}

/** One example as a JSON object in the layout the target reads. */
export function exampleRow(ex: Example, layout: DataLayout): Record<string, unknown> {
  if ((ex.kind === 'preference') !== PAIR_LAYOUTS.includes(layout)) throw new Error(`row ${ex.row + 1}: a ${ex.kind} example cannot be written in the ${layout} layout`);
  if (ex.kind === 'preference') return preferenceRow(ex, layout as PairLayout);
  const lastAssistant = ex.messages.map((m) => m.role).lastIndexOf('assistant');
  switch (layout) {
    case 'text':
      return { text: ex.messages[0].content };
    case 'prompt-completion':
      return { prompt: ex.messages[0].content, completion: ex.messages[1].content };
    case 'messages':
      return { messages: msgs(ex.messages) };
    case 'messages-training':
      // Only the last assistant turn trains; earlier ones are context.
      return { messages: ex.messages.map((m, i) => (m.role === 'assistant' && i !== lastAssistant ? { role: m.role, content: m.content, training: false } : { role: m.role, content: m.content })) };
    case 'conversational-prompt-completion':
      // Turns after the last assistant reply train nothing and, the model being causal, change no loss.
      return { prompt: msgs(ex.messages.slice(0, lastAssistant)), completion: msgs([ex.messages[lastAssistant]]) };
    default:
      throw new Error(`unreachable layout ${layout}`);
  }
}

const jsonl = (rows: readonly Example[], layout: DataLayout) => rows.map((ex) => JSON.stringify(exampleRow(ex, layout)) + '\n').join('');

function kindOf(examples: readonly Example[]): ExampleKind {
  const kinds = new Set(examples.map((e) => e.kind));
  if (kinds.size !== 1) throw new Error(`a recipe needs examples of one kind, got ${[...kinds].join(', ') || 'none'}`);
  return examples[0].kind;
}

/** Whether a file's preference pairs are conversations (one dataset type reads them all), or null for other kinds. */
export function pairsConversational(examples: readonly Example[]): boolean | null {
  const flags = new Set(examples.flatMap((e) => (e.kind === 'preference' ? [e.conversational] : [])));
  if (flags.size > 1) throw new Error('a recipe needs preference pairs of one shape: this file mixes message lists and plain strings');
  return flags.size ? [...flags][0] : null;
}

/** Splits `target.key` entries: plain keys, and the keys under each prefix (`dataset.`, `sft.`...). */
function sections(keys: Record<string, YamlValue>): { top: Record<string, YamlValue>; [prefix: string]: Record<string, YamlValue> } {
  const out: { top: Record<string, YamlValue>; [prefix: string]: Record<string, YamlValue> } = { top: {} };
  for (const [k, v] of Object.entries(keys)) {
    const dot = k.indexOf('.');
    const [sec, key] = dot < 0 ? ['top', k] : [k.slice(0, dot), k.slice(dot + 1)];
    (out[sec] ??= {})[key] = v;
  }
  return out;
}

function axolotlDatasetType(layout: DataLayout, conversational: boolean | null): Record<string, YamlValue> {
  switch (layout) {
    case 'axolotl-preference':
      // docs/rlhf.qmd: chat_template.default for conversations; user_defined with the raw prompt for plain pairs.
      return conversational
        ? { type: 'chat_template.default', field_messages: 'messages', field_chosen: 'chosen', field_rejected: 'rejected', message_property_mappings: { role: 'role', content: 'content' }, roles: { system: ['system'], user: ['user'], assistant: ['assistant'] } }
        : { type: { field_prompt: 'prompt', field_chosen: 'chosen', field_rejected: 'rejected', prompt_format: '{prompt}', chosen_format: '{chosen}', rejected_format: '{rejected}' } };
    case 'axolotl-orpo':
      // docs/rlhf.qmd: the one dataset type Axolotl documents for ORPO.
      return { type: 'chat_template.argilla' };
    case 'preference':
      throw new Error('TRL’s preference layout is not an Axolotl dataset type');
    case 'messages':
    case 'messages-training':
      return { type: 'chat_template', field_messages: 'messages', message_property_mappings: { role: 'role', content: 'content' } };
    case 'prompt-completion':
      // A user-defined format that writes the prompt as it is: the raw prompt + completion the studio trained on.
      return { type: { field_instruction: 'prompt', field_output: 'completion', format: '{instruction}', no_input_format: '{instruction}', system_prompt: '' } };
    case 'text':
      return { type: 'completion', field: 'text' };
    case 'conversational-prompt-completion':
      throw new Error('Axolotl reads last-turn training from per-message flags, not prompt/completion');
  }
}

function axolotlConfig(c: MapContext, layout: DataLayout, conversational: boolean | null, batch: EffectiveBatch, header: string[]): string {
  const s = sections(mappedKeys('axolotl', c));
  const entry = (path: string, extra: Record<string, YamlValue> = {}) => ({ path, ds_type: 'json', ...extra, ...axolotlDatasetType(layout, conversational), ...(s.dataset ?? {}) });
  // The model and how it is loaded first, as Axolotl's examples read.
  const { base_model, revision_of_model, load_in_4bit, load_in_8bit, bnb_config_kwargs, adapter, ...rest } = s.top;
  const doc: Record<string, YamlValue> = {
    base_model,
    ...(revision_of_model !== undefined ? { revision_of_model } : {}),
    load_in_4bit,
    load_in_8bit,
    ...(bnb_config_kwargs !== undefined ? { bnb_config_kwargs } : {}),
    adapter,
    ...(layout === 'messages' || layout === 'messages-training' || layout === 'axolotl-orpo' || (layout === 'axolotl-preference' && conversational) ? { chat_template: 'tokenizer_default' } : {}),
    datasets: [entry(TRAIN_FILE)],
    ...(c.hasVal ? { test_datasets: [entry(VAL_FILE, { split: 'train' })] } : {}),
    dataset_prepared_path: 'last_run_prepared',
    output_dir: OUTPUT_DIR,
    ...rest,
    ...(batch.gpus > 1 ? { deepspeed: DEEPSPEED_FILE } : {}),
  };
  return toYaml(doc, header);
}

/** A Python literal for a config value (JSON strings are valid Python string literals). */
export function pyLiteral(v: YamlValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${(v as readonly YamlValue[]).map(pyLiteral).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pyLiteral(x)}`).join(', ')}}`;
}

const pyArgs = (args: Record<string, YamlValue>) => Object.entries(args).map(([k, v]) => `    ${k}=${pyLiteral(v)},\n`).join('');

function trlScript(c: MapContext, header: string[]): string {
  const s = sections(mappedKeys('trl', c));
  const trainer = OBJECTIVE_MAP[c.run.objective.kind].trlTrainer;
  // A quantized base (QLoRA): bitsandbytes loads it, each process its own copy on its own GPU (as
  // TRL's scripts place it); the trainer prepares it for k-bit training.
  const bnb = s.bnb ? `\nquantization_config = BitsAndBytesConfig(\n${pyArgs(s.bnb)})\n` : '';
  const modelInit = s.bnb ? `{**${pyLiteral(s.model ?? {})}, "quantization_config": quantization_config, "device_map": {"": PartialState().local_process_index}}` : pyLiteral(s.model ?? {});
  const files = c.hasVal ? `{"train": os.path.join(HERE, ${JSON.stringify(TRAIN_FILE)}), "validation": os.path.join(HERE, ${JSON.stringify(VAL_FILE)})}` : `{"train": os.path.join(HERE, ${JSON.stringify(TRAIN_FILE)})}`;
  return (
    header.map((l) => (l ? `# ${l}` : '#')).join('\n') +
    `\nimport os

${bnb ? 'from accelerate import PartialState\n' : ''}from datasets import load_dataset
from peft import LoraConfig
${bnb ? 'from transformers import BitsAndBytesConfig\n' : ''}from trl import ${trainer.config}, ${trainer.trainer}

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = ${JSON.stringify(c.run.base.id)}

data = load_dataset("json", data_files=${files})
${bnb}
peft_config = LoraConfig(
    task_type="CAUSAL_LM",
    bias="none",
${pyArgs(s.lora ?? {})})

args = ${trainer.config}(
    output_dir=os.path.join(HERE, ${JSON.stringify(OUTPUT_DIR)}),
    model_init_kwargs=${modelInit},
${pyArgs(s.sft ?? {})})

trainer = ${trainer.trainer}(
    model=MODEL,
    args=args,
    train_dataset=data["train"],
    eval_dataset=${c.hasVal ? 'data["validation"]' : 'None'},
    peft_config=peft_config,
)
trainer.train()
trainer.save_model(args.output_dir)
`
  );
}

export const DEEPSPEED_FILE = 'deepspeed_zero2.json';
export const ACCELERATE_FILE = 'accelerate.yaml';

/** DeepSpeed ZeRO-2; "auto" values are filled from the Axolotl config by the HF integration. */
function deepspeedZero2(): string {
  const cfg = {
    zero_optimization: { stage: 2, overlap_comm: true, contiguous_gradients: true, reduce_bucket_size: 'auto' },
    bf16: { enabled: 'auto' },
    fp16: { enabled: 'auto' },
    gradient_accumulation_steps: 'auto',
    gradient_clipping: 'auto',
    train_batch_size: 'auto',
    train_micro_batch_size_per_gpu: 'auto',
    wall_clock_breakdown: false,
  };
  return JSON.stringify(cfg, null, 2) + '\n';
}

function accelerateConfig(gpus: number): string {
  return toYaml({
    compute_environment: 'LOCAL_MACHINE',
    distributed_type: gpus > 1 ? 'MULTI_GPU' : 'NO',
    num_machines: 1,
    machine_rank: 0,
    num_processes: gpus,
    gpu_ids: 'all',
    // The studio trains in float32 (mapping.ts, weights).
    mixed_precision: 'no',
    rdzv_backend: 'static',
    same_network: true,
    use_cpu: false,
  });
}

/**
 * The command that trains the recipe on `gpus` GPUs. Without a process count accelerate takes every
 * visible GPU, which would change the global batch: Axolotl's gets it on the command line, TRL's
 * from its accelerate config.
 */
function launchCommand(target: RecipeTarget, gpus: number): string {
  return target === 'axolotl' ? `accelerate launch --num_processes ${gpus} -m axolotl.cli.train config.yml` : `accelerate launch --config_file ${ACCELERATE_FILE} train.py`;
}

function readme(target: RecipeTarget, run: RunRecord, batch: EffectiveBatch, counts: { train: number; val: number }, layout: DataLayout): string {
  const notes = mappingNotes(target, run);
  const v = TARGET_VERSIONS;
  const quantized = run.engine.weights === 'q8' || run.engine.weights === 'q4';
  // Axolotl pins its own peft, trl, transformers and bitsandbytes.
  const install = target === 'axolotl' ? `pip install "axolotl[deepspeed,flash-attn]${v.axolotl}"` : `pip install "trl${v.trl}" "peft${v.peft}" "transformers${v.transformers}" "accelerate${v.accelerate}"${quantized ? ` "bitsandbytes${v.bitsandbytes}"` : ''} datasets flash-attn`;
  const launch = launchCommand(target, batch.gpus);
  const s = run.settings;
  const batchLine = batch.exact
    ? `global batch ${batch.global} sequences = micro-batch ${batch.micro} × accumulation ${batch.accum} × ${batch.gpus} GPU${batch.gpus > 1 ? 's' : ''}, the studio run's ${s.batchSize} × ${s.gradAccum}.`
    : `global batch ${batch.global} sequences = micro-batch ${batch.micro} × accumulation ${batch.accum} × ${batch.gpus} GPUs: NOT the studio run's ${batch.studio} (${s.batchSize} × ${s.gradAccum}), which ${batch.gpus} GPUs with micro-batch ${batch.micro} cannot divide. Change micro_batch_size and accumulation together to get closer, and scale the learning rate if you keep it.`;
  const layoutLine: Record<DataLayout, string> = {
    messages: '`messages` conversations',
    'messages-training': '`messages` conversations; earlier assistant turns carry `"training": false`',
    'conversational-prompt-completion': 'conversational `prompt` (messages before the last reply) / `completion` (the last reply)',
    'prompt-completion': '`prompt` / `completion` strings',
    text: '`text`',
    preference: '`prompt` / `chosen` / `rejected` (message lists for conversations, else strings)',
    'axolotl-preference': '`messages` (the prompt) with one `chosen` and one `rejected` reply message, or `prompt` / `chosen` / `rejected` strings for plain pairs',
    'axolotl-orpo': '`chosen` / `rejected` conversations (the prompt\'s turns, then the reply) with the system message, if any, as `system` (Axolotl\'s `chat_template.argilla`)',
  };
  return `# ${target === 'axolotl' ? 'Axolotl' : 'TRL'} recipe of a LoRA Studio run

Base model \`${run.base.id}\`${run.base.revision ? ` at revision \`${run.base.revision}\`` : ''}, ${run.objective.kind.toUpperCase()} with ${quantized ? `${run.engine.weights === 'q4' ? 'QLoRA (4-bit' : 'LoRA on an 8-bit'} base${run.engine.weights === 'q4' ? ')' : ''}` : 'LoRA'} (rank ${s.rank}, alpha ${s.alpha}${s.rslora ? ', rsLoRA' : ''}).
Written for ${target === 'axolotl' ? `axolotl ${v.axolotl} (with the peft, trl and transformers it pins; peft ${v.peft})` : `trl ${v.trl}, peft ${v.peft}, transformers ${v.transformers}, accelerate ${v.accelerate}${quantized ? `, bitsandbytes ${v.bitsandbytes}` : ''}`}.${quantized ? `

## Quantized base

The studio trained this adapter on a ${run.engine.weights === 'q4' ? '4-bit' : '8-bit'} base quantized into GGUF blocks (${run.engine.weights === 'q4' ? 'Q4_0 linears, Q8_0 embedding and LM head' : 'Q8_0'}). The cluster run uses bitsandbytes quantization instead (${run.engine.weights === 'q4' ? '4-bit NF4 with double quantization, as QLoRA does' : '8-bit LLM.int8'}), not our GGUF blocks: the frozen weights, and so the losses, differ slightly. It needs CUDA GPUs.` : ''}

## Run it

\`\`\`sh
${install}
${launch}
\`\`\`

The adapter lands in \`${OUTPUT_DIR}/\` (PEFT layout, as the studio writes it).

## Batch

${batchLine}
Written for ${batch.gpus} GPU${batch.gpus > 1 ? 's' : ''}; export again with \`--gpus N\` for another count${target === 'trl' ? ` (it sets \`num_processes\` in ${ACCELERATE_FILE} and the accumulation)` : ` (it sets the accumulation and the launch's \`--num_processes\`${batch.gpus > 1 ? ` and uses ${DEEPSPEED_FILE}, ZeRO-2` : `; with more than one GPU the config names ${DEEPSPEED_FILE}, ZeRO-2`})`}.

## Data

\`${TRAIN_FILE}\`: the ${counts.train} examples the run trained on; \`${VAL_FILE}\`: its ${counts.val} held-out examples${counts.val === 0 ? ' (none: no file, no evaluation)' : ''}. Both come from \`${run.data.file}\` read by the studio's parser${run.data.excludeInvalid ? ', invalid rows excluded' : ''}${run.data.dedupe ? ', duplicates removed' : ''}, split with seed ${s.seed} and validation share ${s.valSplit}. Layout: ${layoutLine[layout]}.

## Not reproduced

${[...notes.unmapped, ...notes.caveats, 'batches: the trainers shuffle and pack with their own generators, so examples meet in other batches; losses are close, not equal']
  .map((l) => `- ${l}`)
  .join('\n')}
`;
}

export interface RecipeOptions {
  gpus: number;
}

/** The files of a recipe for `run` trained on `examples` (the selected examples, in file order). */
export function recipeFiles(target: RecipeTarget, run: RunRecord, examples: readonly Example[], opts: RecipeOptions): RecipeFile[] {
  const kind = kindOf(examples);
  if (kind === 'preference' && run.objective.kind === 'sft') throw new Error('an SFT run does not train on preference pairs: the recipe needs a preference objective');
  const conversational = pairsConversational(examples);
  const layout = dataLayout(target, kind, run.settings.lossMode, run.objective.kind);
  // The split the session makes (train/session.ts): same rows, same seed, same share.
  const { train, val } = splitTrainVal(examples, { valFraction: run.settings.valSplit, seed: run.settings.seed });
  const batch = effectiveBatch(run.settings, opts.gpus);
  const c: MapContext = { run, kind, hasVal: val.length > 0, accum: batch.accum };
  const header = [
    `LoRA Studio run as ${target === 'axolotl' ? 'an Axolotl' : 'a TRL'} recipe, written for ${target === 'axolotl' ? `axolotl${TARGET_VERSIONS.axolotl}` : `trl${TARGET_VERSIONS.trl}`}, peft${TARGET_VERSIONS.peft}; see README.md.`,
    `Launch: ${launchCommand(target, opts.gpus)}`,
  ];
  const files: RecipeFile[] = [{ name: TRAIN_FILE, text: jsonl(train, layout) }];
  if (val.length > 0) files.push({ name: VAL_FILE, text: jsonl(val, layout) });
  if (target === 'axolotl') files.push({ name: 'config.yml', text: axolotlConfig(c, layout, conversational, batch, header) }, { name: DEEPSPEED_FILE, text: deepspeedZero2() });
  else files.push({ name: 'train.py', text: trlScript(c, header) }, { name: ACCELERATE_FILE, text: accelerateConfig(opts.gpus) });
  files.push({ name: 'README.md', text: readme(target, run, batch, { train: train.length, val: val.length }, layout) });
  return files;
}
