// Generation for the playground and for sample answers during training: the messages become
// the model's input (its chat template, or plain text for a base model without one: data/prompt),
// the Generator decodes with a KV cache, tokens stream back as text.
// The playground keeps one base model (and one adapter) on the GPU between prompts.
import type { GpuContext } from '../engine/gpu/context';
import { parseModelConfig, type ModelConfig } from '../engine/model/config';
import { Generator } from '../engine/model/generate';
import { LlamaModel } from '../engine/model/llama';
import type { LoraParams } from '../engine/model/lora-params';
import { destroyWeights, uploadWeights, type ModelWeights } from '../engine/model/weights';
import { loadLoraParams, loadPeftFiles } from '../adapters/load';
import { loadTokenizer, promptIds, ReplyText, type ChatTokenizer } from '../data';
import { openModelWeights, readModelMetadata } from '../hub';
import { promptedMessages, resolveBaseline } from '../eval';
import { getAdapter } from '../persist/repo';
import type { ModelRef } from '../persist/records';
import { cacheKeyOf, openModel } from './models-service';
import type { GenerateRequest } from './run-types';

export interface Loaded {
  key: string;
  ctx: GpuContext;
  cfg: ModelConfig;
  model: LlamaModel;
  weights: ModelWeights;
  tok: ChatTokenizer;
  adapter: { id: string; lora: LoraParams } | null;
}

let loaded: Loaded | null = null;

/** Frees the playground's model (training needs the memory). */
export function unloadPlayground(): void {
  if (!loaded) return;
  loaded.adapter?.lora.destroy();
  loaded.model.destroy();
  destroyWeights(loaded.ctx, loaded.weights);
  loaded = null;
}

/** The model of `ref` on the GPU (kept loaded between calls: the playground's, and evaluations'). */
export async function loadBase(ctx: GpuContext, ref: ModelRef): Promise<Loaded> {
  const key = cacheKeyOf(ref);
  if (loaded?.key === key && loaded.ctx === ctx) return loaded;
  unloadPlayground();
  const files = await openModel(ref);
  const meta = await readModelMetadata(files);
  const cfg = parseModelConfig(meta.config);
  const tok = loadTokenizer({ tokenizerJson: meta.tokenizer as object, tokenizerConfig: meta.tokenizerConfig });
  const weights = await uploadWeights(ctx, cfg, await openModelWeights(files), { storage: 'auto' });
  loaded = { key, ctx, cfg, model: new LlamaModel(ctx, cfg, weights), weights, tok, adapter: null };
  return loaded;
}

/** A stored PEFT adapter as GPU LoRA parameters for this base model. */
export async function loadAdapter(l: Loaded, adapterId: string): Promise<LoraParams> {
  if (l.adapter?.id === adapterId) return l.adapter.lora;
  l.adapter?.lora.destroy();
  l.adapter = null;
  const rec = await getAdapter(adapterId);
  if (!rec) throw new Error('That adapter was deleted.');
  const lora = loadLoraParams(l.ctx, l.cfg, await loadPeftFiles(rec.files, l.cfg, `Adapter “${rec.name}”`));
  l.adapter = { id: adapterId, lora };
  return lora;
}

export interface GenerateOutput {
  text: string;
  tokens: number;
  /** From the start of decoding (after tokenizing) to the last token. */
  ms: number;
  /** From the start of decoding to the first generated token (the prompt's prefill); null with no token. */
  firstTokenMs: number | null;
}

/**
 * Generates one answer. `onText` gets each new piece of text (whole characters, with the
 * reply's leading space: ReplyText).
 */
export async function generateWith(
  model: LlamaModel,
  lora: LoraParams | null,
  tok: ChatTokenizer,
  req: Pick<GenerateRequest, 'messages' | 'maxNewTokens' | 'temperature' | 'topP' | 'seed' | 'adapterScale'>,
  onText?: (t: string) => void,
): Promise<GenerateOutput> {
  const prompt = promptIds(tok, req.messages);
  const maxT = Math.min(model.cfg.maxPositionEmbeddings, prompt.length + req.maxNewTokens + 1);
  const stops = [...new Set([...model.cfg.eosTokenIds, ...(tok.eosTokenId !== null ? [tok.eosTokenId] : [])])];
  const gen = new Generator(model, lora, maxT);
  const t0 = performance.now();
  const reply = new ReplyText(tok, prompt);
  let firstTokenMs: number | null = null;
  try {
    const r = await gen.generate(prompt, {
      maxNewTokens: req.maxNewTokens,
      stopTokens: stops,
      temperature: req.temperature,
      topP: req.topP,
      seed: req.seed,
      loraScale: lora ? req.adapterScale : 0,
      onToken: (t) => {
        firstTokenMs ??= performance.now() - t0;
        if (stops.includes(t)) return;
        const piece = reply.push(t);
        if (piece) onText?.(piece);
      },
    });
    const { rest, text } = reply.finish();
    if (rest) onText?.(rest);
    return { text, tokens: r.tokens.length, ms: performance.now() - t0, firstTokenMs };
  } finally {
    gen.destroy();
  }
}

/** The conversation a playground request is answered from: its messages, after the prompted baseline's prompt when it asks for it. */
export function playgroundMessages(req: Pick<GenerateRequest, 'messages' | 'baseline'>): GenerateRequest['messages'] {
  if (!req.baseline) return req.messages;
  const { systemText, shots } = resolveBaseline(req.baseline);
  return promptedMessages({ prompt: req.messages, reference: '', row: 0 }, shots, systemText);
}

/** The playground: base model (adapterId null) or base + adapter at a scale; the prompted baseline with `baseline`. */
export async function playgroundGenerate(ctx: GpuContext, req: GenerateRequest, onText: (t: string) => void): Promise<GenerateOutput> {
  const messages = playgroundMessages(req); // malformed examples are refused before loading anything
  const l = await loadBase(ctx, req.model);
  const lora = req.adapterId ? await loadAdapter(l, req.adapterId) : null;
  return generateWith(l.model, lora, l.tok, { ...req, messages }, onText);
}
