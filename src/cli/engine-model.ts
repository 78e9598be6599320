// A model (and optionally a PEFT adapter) loaded onto the CLI's GPU, with its tokenizer.
import type { OpenedModel } from '../engine/model/model-files';
import { LlamaModel } from '../engine/model/llama';
import type { LoraParams } from '../engine/model/lora-params';
import { destroyWeights, keptTensors, uploadWeights, weightsOnlyFit, type ModelWeights } from '../engine/model/weights';
import type { GpuContext } from '../engine/gpu/context';
import type { LoraAdapter } from '../adapters/lora';
import { loadLoraParams } from '../adapters/load';
import { bosPrefix, loadTokenizer, type ChatTokenizer } from '../data';
import { loadPeftDir } from './commands/export';
import { CliError, type ModelArgs, openCliModel } from './model-dir';
import { nodeEngineDevice } from './node-gpu';
import { chooseWeights, type WeightsFlag } from './weights';

export interface LoadedEngine {
  ctx: GpuContext;
  opened: OpenedModel;
  model: LlamaModel;
  lora: LoraParams | null;
  adapter: LoraAdapter | null;
  tokenizer: ChatTokenizer;
  close(): Promise<void>;
}

/**
 * Loads the model (--model DIR, FILE.gguf with --tokenizer, or owner/name) and adapter onto the GPU; the
 * weights line (what --weights picked, and why) goes to stderr first.
 */
export async function loadEngine(modelPath: string, adapterDir: string | undefined, opts: { weights?: WeightsFlag; model?: ModelArgs } = {}): Promise<LoadedEngine> {
  const files = await openCliModel(modelPath, opts.model);
  let weights: ModelWeights | null = null;
  let ctx: GpuContext | null = null;
  try {
    const { opened } = files;
    const adapter = adapterDir ? await loadPeftDir(adapterDir, opened) : null;
    const tokenizer = loadTokenizer({ tokenizerJson: opened.tokenizerJson, tokenizerConfig: opened.tokenizerConfig });
    if (tokenizer.vocabSize > opened.config.vocabSize) throw new CliError(`${modelPath}: the tokenizer has ${tokenizer.vocabSize} ids but config.json's vocab_size is ${opened.config.vocabSize}`);
    ctx = (await nodeEngineDevice()).ctx;
    const choice = chooseWeights(opts.weights ?? 'auto', ctx.caps.f16, opened.config.dtype, weightsOnlyFit(opened.config, ctx.caps.maxBufferSize, undefined, keptTensors(opened.weights)), opened.gguf);
    process.stderr.write(`${choice.line}\n`);
    weights = await uploadWeights(ctx, opened.config, opened.weights, { storage: choice.storage });
    const model = new LlamaModel(ctx, opened.config, weights);
    const lora = adapter ? loadLoraParams(ctx, opened.config, adapter) : null;
    await files.close();
    const c = ctx;
    const w = weights;
    return {
      ctx: c,
      opened,
      model,
      lora,
      adapter,
      tokenizer,
      async close() {
        lora?.destroy();
        model.destroy();
        destroyWeights(c, w);
        c.device.destroy();
      },
    };
  } catch (e) {
    await files.close();
    if (ctx && weights) destroyWeights(ctx, weights);
    ctx?.device.destroy();
    throw e;
  }
}

/** Another PEFT adapter for the loaded model (e.g. several compared in one run); the caller destroys it. */
export async function loadAdapter(e: LoadedEngine, dir: string): Promise<{ adapter: LoraAdapter; lora: LoraParams }> {
  const adapter = await loadPeftDir(dir, e.opened);
  return { adapter, lora: loadLoraParams(e.ctx, e.opened.config, adapter) };
}

/** Token ids from --ids "1,2,3" (as given) or --text (no template; BOS first when the tokenizer adds one, as training does). */
export function parseIds(ids: string | undefined, text: string | undefined, tok: ChatTokenizer, V: number): number[] {
  if ((ids === undefined) === (text === undefined)) throw new CliError('give exactly one of --ids 1,2,3 or --text "..."');
  const out = ids !== undefined ? ids.split(',').map((s) => Number(s.trim())) : [...bosPrefix(tok), ...tok.encode(text!)];
  if (out.length === 0) throw new CliError('no tokens to evaluate');
  out.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new CliError(`--ids: entry ${i} (${ids?.split(',')[i]}) is not a token id in [0, ${V})`);
  });
  return out;
}
