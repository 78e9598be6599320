// `lora-studio`: the studio's engine from the command line (Dawn through the `webgpu` package).
import { parseArgs } from 'node:util';
import { inspectCommand } from './commands/inspect';
import { exportCommand } from './commands/export';
import { TRAIN_HELP, TRAIN_OPTIONS, trainCommand } from './commands/train';
import { EVAL_HELP, EVAL_OPTIONS, GENERATE_HELP, GENERATE_OPTIONS, LOGITS_HELP, LOGITS_OPTIONS, evalCommand, generateCommand, logitsCommand } from './commands/infer';
import { EVALUATE_HELP, EVALUATE_OPTIONS, evaluateCommand } from './commands/evaluate';
import type { Values } from './args';
import { MODEL_OPTIONS } from './model-dir';

const USAGE = `lora-studio <command> [options]

commands
  inspect   --model DIR [--data FILE] [--json]          model and dataset summary
  train     --model DIR --data FILE --out DIR [options]  train a LoRA adapter, write PEFT files
  eval      --model DIR --data FILE [--adapter DIR]      loss on a dataset
  evaluate  --model DIR --data FILE [--adapter DIR ...]  base vs prompted baseline vs adapters on held-out answers
  generate  --model DIR --prompt TEXT [--adapter DIR]    stream a reply
  logits    --model DIR [--adapter DIR] --ids 1,2,3 | --text "..."   JSON logits of every position
  export    --model DIR --adapter DIR --format peft|gguf|merged|merged-gguf --out PATH
            --format axolotl|trl --data FILE [--gpus N]   the run as an Axolotl or TRL recipe

--model takes a Hugging Face model folder, a GGUF base model file (FILE.gguf; its tokenizer from
--tokenizer DIR, the original model's folder, default the file's folder), or a Hub repo id
(owner/name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct: downloaded once into the model cache,
~/.cache/lora-studio/models or $LORA_STUDIO_CACHE, then used from there; a GGUF repo takes
--gguf-file NAME, default the file of --weights' storage, Q8_0 for auto).
Run 'lora-studio <command> --help' for a command's options.`;

type Command = { run: (v: Values, out: (line: string) => void) => Promise<void>; options: Readonly<Record<string, { readonly type: 'string' | 'boolean'; readonly short?: string; readonly multiple?: boolean }>>; help: string };

const COMMON = { ...MODEL_OPTIONS, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

const commands: Record<string, Command> = {
  inspect: {
    run: inspectCommand,
    options: { ...COMMON, data: { type: 'string' }, 'seq-len': { type: 'string' } },
    help: 'inspect --model DIR [--data FILE] [--seq-len N] [--json]',
  },
  train: { run: trainCommand, options: TRAIN_OPTIONS, help: TRAIN_HELP },
  eval: { run: evalCommand, options: EVAL_OPTIONS, help: EVAL_HELP },
  evaluate: { run: evaluateCommand, options: EVALUATE_OPTIONS, help: EVALUATE_HELP },
  generate: { run: generateCommand, options: GENERATE_OPTIONS, help: GENERATE_HELP },
  logits: { run: logitsCommand, options: LOGITS_OPTIONS, help: LOGITS_HELP },
  export: {
    run: exportCommand,
    options: { ...COMMON, adapter: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' }, 'gguf-type': { type: 'string' }, data: { type: 'string' }, gpus: { type: 'string' } },
    help:
      'export --model DIR --adapter DIR --format peft|gguf|merged|merged-gguf --out DIR [--force]\n' +
      '  --gguf-type F32|F16|BF16|Q8_0|Q4_0|Q4_K_M  weights of a merged-gguf (default F32); Q4_K_M as llama-quantize mixes Q4_K and Q6_K\n' +
      '  --format axolotl|trl --data FILE [--gpus N]  the run that trained the adapter (its training_settings.json) as an Axolotl YAML or TRL script,\n' +
      '    with the trained and held-out examples as JSONL, a multi-GPU launch config and a README; --data is the file the run trained on; --gpus (1) sets the accumulation',
  },
};

export async function main(argv: string[], out: (line: string) => void = (l) => void process.stdout.write(l + '\n')): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(USAGE);
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`lora-studio: unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  try {
    const { values } = parseArgs({ args: rest, options: cmd.options, strict: true, allowPositionals: false });
    if (values.help) {
      out(`lora-studio ${cmd.help}`);
      return 0;
    }
    // Dawn's pending GPU callbacks (mapAsync, onSubmittedWorkDone) do not keep Node's event
    // loop alive: without a live handle the process would exit mid-await.
    const keepAlive = setInterval(() => {}, 1 << 30);
    try {
      await cmd.run(values as Values, out);
    } finally {
      clearInterval(keepAlive);
    }
    return 0;
  } catch (e) {
    // One clear line on stderr; the stack only when asked for.
    const err = e as Error;
    process.stderr.write(`lora-studio ${name}: ${err.message}\n`);
    if (process.env.LORA_STUDIO_DEBUG) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

const isEntry = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('cli.js');
if (isEntry) {
  // Run by bin/run-cli.mjs, stderr is a pipe to the launcher, which says whether its own is a terminal.
  if (process.env.LORA_STUDIO_STDERR_TTY === '1') Object.assign(process.stderr, { isTTY: true });
  // Exit only once stdout and stderr have drained: exiting at once cuts output still queued for a
  // pipe (it stopped at 128 KiB), and exiting at all guards against a stray handle keeping Node up.
  const drained = (s: NodeJS.WriteStream) => new Promise<void>((resolve) => s.write('', () => resolve()));
  main(process.argv.slice(2)).then(async (code) => {
    process.exitCode = code;
    await Promise.all([drained(process.stdout), drained(process.stderr)]);
    process.exit(code);
  });
}
