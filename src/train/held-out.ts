// What a held-out evaluation asks of the GPU, for the worker and the CLI alike: greedy answers
// to many prompts (batched with the KV cache) and the teacher-forced loss of the references
// after the same prompts. Scoring the answers is src/eval's (pure) business.
import type { GpuContext } from '../engine/gpu/context';
import { defaultOptimConfig } from '../engine/optim/config';
import { Generator } from '../engine/model/generate';
import type { LlamaModel } from '../engine/model/llama';
import { LoraParams } from '../engine/model/lora-params';
import { BatchIterator, promptIds, ReplyText, tokenizeExamples, type ChatTokenizer, type Example, type Message, type TokenizedExample } from '../data';
import { LoraTrainer } from './trainer';

/** A model on the GPU with its tokenizer; lora null = the base model. */
export interface HeldOutModel {
  ctx: GpuContext;
  model: LlamaModel;
  tok: ChatTokenizer;
  lora: LoraParams | null;
}

/** The stop ids of a model: the config's eos ids and the tokenizer's. */
export function stopTokens(model: LlamaModel, tok: ChatTokenizer): number[] {
  return [...new Set([...model.cfg.eosTokenIds, ...(tok.eosTokenId !== null ? [tok.eosTokenId] : [])])];
}

export interface AnswerOptions {
  maxNewTokens: number;
  /** Prompts decoded together (fewer when long prompts would overflow a KV-cache binding). */
  batch: number;
  /** Reported after each batch: answers done so far. */
  onProgress?: (done: number) => void;
  signal?: AbortSignal;
  /** Names the prompt in an error ("row 12"). */
  label?: (i: number) => string;
}

/** Greedy answers (text, trimmed) to each conversation, in order; the adapter as trained when present. */
export async function greedyAnswers(m: HeldOutModel, prompts: readonly Message[][], o: AnswerOptions): Promise<string[]> {
  const cfg = m.model.cfg;
  const stops = stopTokens(m.model, m.tok);
  const ids = prompts.map((p) => promptIds(m.tok, p));
  ids.forEach((p, i) => {
    if (p.length >= cfg.maxPositionEmbeddings) throw new Error(`the prompt of ${o.label?.(i) ?? `example ${i}`} has ${p.length} tokens, the model's context is ${cfg.maxPositionEmbeddings}`);
  });
  if (ids.length === 0) return [];
  const maxT = Math.min(cfg.maxPositionEmbeddings, Math.max(...ids.map((p) => p.length)) + o.maxNewTokens);
  // The KV cache of a layer is one storage binding: fewer rows per batch when long prompts need it.
  const perSeq = maxT * cfg.numKvHeads * cfg.headDim * 4;
  const batch = Math.max(1, Math.min(o.batch, ids.length, Math.floor(m.ctx.caps.maxStorageBufferBindingSize / perSeq)));
  const gen = new Generator(m.model, m.lora, maxT, batch);
  const answers: string[] = [];
  try {
    for (let i = 0; i < ids.length; i += batch) {
      if (o.signal?.aborted) throw new DOMException('Cancelled', 'AbortError');
      const res = await gen.generateBatch(ids.slice(i, i + batch), { maxNewTokens: o.maxNewTokens, stopTokens: stops, loraScale: m.lora ? 1 : 0, signal: o.signal });
      res.forEach((r, j) => {
        const reply = new ReplyText(m.tok, ids[i + j]);
        for (const t of r.tokens) if (!stops.includes(t)) reply.push(t);
        answers.push(reply.finish().text.trim());
      });
      if (o.signal?.aborted) throw new DOMException('Cancelled', 'AbortError');
      o.onProgress?.(answers.length);
    }
  } finally {
    gen.destroy();
  }
  return answers;
}

/**
 * Teacher-forced mean loss per trained token over tokenized examples (in order, batches of
 * B × T), with `lora` at loraScale or the base model when lora is null; targets = 0 when none
 * was left to score within T (skippedRows lists the rows with nothing to score).
 */
export async function meanLoss(
  ctx: GpuContext,
  model: LlamaModel,
  lora: LoraParams | null,
  examples: readonly TokenizedExample[],
  opts: { B: number; T: number; loraScale: number; signal?: AbortSignal },
): Promise<{ loss: number; targets: number; skippedRows: number[] }> {
  const batches = new BatchIterator(examples, { B: opts.B, T: opts.T, seed: 0, shuffle: false });
  // The trainer's eval path needs LoRA buffers; the base model gets an all-zero adapter (B = 0 ⇒ no change).
  const params = lora ?? LoraParams.create(ctx, model.cfg, { r: 1, alpha: 1, dropout: 0, targetModules: ['q_proj'], useRslora: false }, 0);
  const trainer = new LoraTrainer(ctx, model, params, defaultOptimConfig(), { B: opts.B, T: opts.T, seed: 0 });
  try {
    let sum = 0;
    let n = 0;
    for (const b of batches.epochBatches(0)) {
      if (opts.signal?.aborted) throw new DOMException('Cancelled', 'AbortError');
      const r = await trainer.evalLoss(b, { loraScale: lora ? opts.loraScale : 0 });
      sum += r.loss * r.numTargets;
      n += r.numTargets;
    }
    return { loss: n > 0 ? sum / n : NaN, targets: n, skippedRows: batches.skippedRows };
  } finally {
    trainer.destroy();
    if (!lora) params.destroy();
  }
}

export interface ReferenceLoss {
  loss: number;
  targets: number;
  perplexity: number;
}

/**
 * The references' teacher-forced loss after the same prompts (the last assistant turn only, so
 * few-shot answers in a prompt are context, not scored).
 */
export async function referenceLoss(m: HeldOutModel, prompts: readonly Message[][], references: readonly string[], rows: readonly number[], signal?: AbortSignal): Promise<ReferenceLoss> {
  const examples: Example[] = prompts.map((p, i) => ({ kind: 'chat', row: rows[i], messages: [...p, { role: 'assistant', content: references[i] }] }));
  const tokd = await tokenizeExamples(m.tok, examples, { lossMode: 'last-assistant' });
  const longest = Math.max(8, ...tokd.examples.map((x) => x.inputIds.length));
  const T = Math.min(m.model.cfg.maxPositionEmbeddings, Math.ceil(longest / 8) * 8);
  const l = await meanLoss(m.ctx, m.model, m.lora, tokd.examples, { B: Math.min(4, Math.max(1, examples.length)), T, loraScale: 1, signal });
  return { loss: l.loss, targets: l.targets, perplexity: Math.exp(l.loss) };
}
