// `generate`, `logits` and `eval`: the base model, or base + adapter, on the CLI's GPU.
import { Generator } from '../../engine/model/generate';
import { TrainingGraph } from '../../engine/model/llama';
import { chooseSeqLen } from '../../train/seq-len';
import { meanLoss } from '../../train/held-out';
import { promptIds, ReplyText, tokenizeExamples, type Message } from '../../data';
import { num, optStr, str, type Values } from '../args';
import { loadEngine, parseIds } from '../engine-model';
import { CliError, MODEL_HELP, MODEL_OPTIONS, modelArgs } from '../model-dir';
import { parseDatasetFile, selectExamples } from '../dataset-file';
import { lossModeFlag } from './train';
import { WEIGHTS_HELP, weightsFlag } from '../weights';

const ENGINE_OPTS = { ...MODEL_OPTIONS, adapter: { type: 'string' }, scale: { type: 'string' }, weights: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

export const GENERATE_OPTIONS = {
  ...ENGINE_OPTS,
  prompt: { type: 'string' },
  system: { type: 'string' },
  raw: { type: 'boolean' },
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
} as const;

export const GENERATE_HELP = `generate --model DIR|FILE.gguf --prompt TEXT [--adapter DIR] [--scale X (1; 0 = base)] [--system TEXT] [--raw]
  [--max-tokens N (256)] [--temperature T (0 = greedy)] [--top-k K] [--top-p P] [--seed N] [--json]
  ${MODEL_HELP}
  ${WEIGHTS_HELP}`;

export async function generateCommand(v: Values, out: (l: string) => void): Promise<void> {
  const prompt = str(v, 'prompt');
  const maxNew = num(v, 'max-tokens', 256, { int: true, min: 1 });
  const e = await loadEngine(str(v, 'model'), optStr(v, 'adapter'), { weights: weightsFlag(v), model: modelArgs(v) });
  try {
    const system = optStr(v, 'system');
    const messages: Message[] = [...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user', content: prompt }];
    const ids = promptIds(e.tokenizer, messages, { raw: v.raw === true });
    const maxT = Math.min(e.opened.config.maxPositionEmbeddings, ids.length + maxNew + 1);
    const gen = new Generator(e.model, e.lora, maxT);
    try {
      const stream = !v.json;
      const reply = new ReplyText(e.tokenizer, ids);
      const eos = e.opened.config.eosTokenIds;
      const r = await gen.generate(ids, {
        maxNewTokens: maxNew,
        temperature: num(v, 'temperature', 0, { min: 0 }),
        topK: num(v, 'top-k', 0, { int: true, min: 0, max: 256 }),
        topP: num(v, 'top-p', 1, { min: 0, max: 1 }),
        seed: num(v, 'seed', 0, { int: true, min: 0 }),
        loraScale: e.lora ? num(v, 'scale', 1) : 0,
        onToken: (t) => {
          if (eos.includes(t)) return;
          const piece = reply.push(t);
          if (stream && piece) process.stdout.write(piece);
        },
      });
      const { rest, text } = reply.finish();
      if (stream) process.stdout.write(rest + '\n');
      else out(JSON.stringify({ prompt_tokens: ids.length, tokens: r.tokens, text, stop_reason: r.stopReason }));
    } finally {
      gen.destroy();
    }
  } finally {
    await e.close();
  }
}

export const LOGITS_OPTIONS = { ...ENGINE_OPTS, ids: { type: 'string' }, text: { type: 'string' } } as const;
export const LOGITS_HELP = `logits --model DIR|FILE.gguf [--adapter DIR] [--scale X] --ids 1,2,3 | --text "..."   (JSON: the logits of every position)
  ${MODEL_HELP}
  ${WEIGHTS_HELP}`;

export async function logitsCommand(v: Values, out: (l: string) => void): Promise<void> {
  const e = await loadEngine(str(v, 'model'), optStr(v, 'adapter'), { weights: weightsFlag(v), model: modelArgs(v) });
  try {
    const V = e.opened.config.vocabSize;
    const ids = parseIds(optStr(v, 'ids'), optStr(v, 'text'), e.tokenizer, V);
    const T = ids.length;
    const graph = new TrainingGraph(e.model, e.lora, 1, T);
    const logits = e.ctx.createBuffer(T * V * 4, 'cli.logits');
    try {
      graph.writeBatch({ B: 1, T, inputIds: ids, targets: new Int32Array(T).fill(-100), positions: Uint32Array.from(ids, (_, i) => i), segmentIds: new Uint32Array(T).fill(1) });
      const rec = e.ctx.recorder('logits');
      graph.recordForward(rec, { scale: e.lora ? num(v, 'scale', 1) : 0, dropout: 0, seed: 0 });
      graph.recordLogits(rec, logits);
      rec.submit();
      const all = await e.ctx.readF32(logits, T * V);
      const rows = Array.from({ length: T }, (_, t) => Array.from(all.subarray(t * V, (t + 1) * V)));
      out(JSON.stringify({ ids, vocab_size: V, adapter: e.adapter !== null, logits: rows }));
    } finally {
      graph.destroy();
      e.ctx.destroy(logits);
    }
  } finally {
    await e.close();
  }
}

export const EVAL_OPTIONS = { ...ENGINE_OPTS, data: { type: 'string' }, 'seq-len': { type: 'string' }, batch: { type: 'string' }, 'exclude-invalid': { type: 'boolean' }, 'loss-mode': { type: 'string' } } as const;
export const EVAL_HELP = `eval --model DIR|FILE.gguf --data FILE [--adapter DIR] [--scale X] [--seq-len N (512, at most the model's context)] [--batch N (4)] [--loss-mode all-assistant|last-assistant|all] [--exclude-invalid] [--json]
  ${MODEL_HELP}
  ${WEIGHTS_HELP}`;

export async function evalCommand(v: Values, out: (l: string) => void): Promise<void> {
  const dataFile = str(v, 'data');
  const asked = v['seq-len'] === undefined ? undefined : num(v, 'seq-len', 512, { int: true, min: 8 });
  const B = num(v, 'batch', 4, { int: true, min: 1 });
  const lossMode = lossModeFlag(v, 'all-assistant');
  const examples = selectExamples(dataFile, await parseDatasetFile(dataFile), { excludeInvalid: v['exclude-invalid'] === true, purpose: 'evaluate' });
  const e = await loadEngine(str(v, 'model'), optStr(v, 'adapter'), { weights: weightsFlag(v), model: modelArgs(v) });
  try {
    // The same decision as `train`: default capped to the model, a longer --seq-len refused.
    const seq = chooseSeqLen(asked, e.opened.config.maxPositionEmbeddings);
    if (seq.error) throw new CliError(`--seq-len ${asked}: ${seq.error}`);
    const T = seq.seqLen;
    const tok = await tokenizeExamples(e.tokenizer, examples, { lossMode });
    const r = await meanLoss(e.ctx, e.model, e.lora, tok.examples, { B, T, loraScale: e.lora ? num(v, 'scale', 1) : 0 });
    if (r.targets === 0) throw new CliError(`--data ${dataFile}: no trained tokens within --seq-len ${T}`);
    const res = { examples: tok.examples.length, skipped: r.skippedRows.length, targets: r.targets, loss: r.loss, perplexity: Math.exp(r.loss) };
    out(v.json ? JSON.stringify(res) : `loss ${r.loss.toFixed(4)} (perplexity ${Math.exp(r.loss).toFixed(2)}) over ${r.targets} trained tokens in ${tok.examples.length} examples${r.skippedRows.length ? `; ${r.skippedRows.length} skipped (nothing to train within --seq-len)` : ''}`);
  } finally {
    await e.close();
  }
}

