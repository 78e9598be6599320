// `inspect --model DIR [--data FILE]`: what the model is and what the dataset holds.
import { WEBGPU_DEFAULT_LIMITS } from '../../engine/gpu/device';
import { LINEAR_MODULES, loraParameterCount, parameterCount } from '../../engine/model/config';
import { planTrainingMemory } from '../../train/memory-plan';
import { chooseSeqLen } from '../../train/seq-len';
import { DEFAULT_ENGINE_OPTIONS } from '../../train/session';
import { openModelFiles } from '../../engine/model/model-files';
import { num, optStr, type Values } from '../args';
import { directoryModelFiles } from '../model-dir';

const fmtBytes = (b: number) => (b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(2)} GiB` : `${(b / (1 << 20)).toFixed(1)} MiB`);

const seqLenFlag = (v: Values): number | undefined => (v['seq-len'] === undefined ? undefined : num(v, 'seq-len', 0, { int: true, min: 8 }));

export async function inspectCommand(v: Values, out: (line: string) => void): Promise<void> {
  const modelDir = optStr(v, 'model');
  const dataFile = optStr(v, 'data');
  const asJson = v.json === true;
  const report: Record<string, unknown> = {};
  const warnings: string[] = [];
  let seqLen = chooseSeqLen(seqLenFlag(v), null).seqLen;
  let tokenizerFiles: { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> } | null = null;
  if (modelDir) {
    const files = directoryModelFiles(modelDir);
    const m = await openModelFiles(files).finally(() => files.close());
    const c = m.config;
    tokenizerFiles = { tokenizerJson: m.tokenizerJson, tokenizerConfig: m.tokenizerConfig };
    // --seq-len defaults to what the model takes; a longer one is what `train` refuses.
    const seq = chooseSeqLen(seqLenFlag(v), c.maxPositionEmbeddings);
    seqLen = seq.seqLen;
    if (seq.error) warnings.push(`--seq-len ${seqLen}: ${seq.error}; train will refuse it`);
    // What a `train` run allocates at batch 4, r=16 on all linears: the engine's own plan (default recompute), per weight dtype.
    const mem = (storage: 'f32' | 'f16') =>
      planTrainingMemory(c, { rank: 16, targets: [...LINEAR_MODULES], batchSize: 4, seqLen }, { storage, recompute: DEFAULT_ENGINE_OPTIONS.recompute }, WEBGPU_DEFAULT_LIMITS.maxStorageBufferBindingSize);
    let f32 = null;
    let f16 = null;
    try {
      [f32, f16] = [mem('f32'), mem('f16')];
    } catch (e) {
      warnings.push(`training memory at batch 4 × ${seqLen}: ${(e as Error).message}`);
    }
    report.model = {
      dir: modelDir,
      architecture: c.architecture,
      layers: c.numLayers,
      hidden: c.hiddenSize,
      mlp: c.intermediateSize,
      heads: c.numHeads,
      kvHeads: c.numKvHeads,
      headDim: c.headDim,
      vocab: c.vocabSize,
      tiedEmbeddings: c.tieWordEmbeddings,
      attentionBias: c.attentionBias,
      dtype: c.dtype,
      parameters: parameterCount(c),
      loraParametersR16AllLinear: loraParameterCount(c, 16, LINEAR_MODULES),
      maxPositionEmbeddings: c.maxPositionEmbeddings,
      trainingMemory: f32 && f16 ? { batch: 4, seqLen, rank: 16, recompute: f32.recompute, f32WeightsBytes: f32.totalBytes, f16WeightsBytes: f16.totalBytes } : null,
      chatTemplate: typeof m.tokenizerConfig.chat_template === 'string',
      eosToken: m.tokenizerConfig.eos_token ?? null,
    };
    if (!asJson) {
      out(`model ${modelDir}`);
      out(`  ${c.architecture}, ${c.numLayers} layers, hidden ${c.hiddenSize}, mlp ${c.intermediateSize}, heads ${c.numHeads}/${c.numKvHeads} (head dim ${c.headDim}), vocab ${c.vocabSize}`);
      out(`  ${(parameterCount(c) / 1e6).toFixed(1)}M parameters (${c.dtype}), embeddings ${c.tieWordEmbeddings ? 'tied' : 'untied'}${c.attentionBias ? ', q/k/v biases' : ''}`);
      out(`  LoRA r=16 on all linear layers: ${(loraParameterCount(c, 16, LINEAR_MODULES) / 1e6).toFixed(2)}M trainable parameters`);
      out(`  context: ${c.maxPositionEmbeddings} positions (max_position_embeddings)`);
      if (f32 && f16) out(`  training memory (batch 4 × ${seqLen}, r=16 all linears, recompute ${f32.recompute}): ${fmtBytes(f32.totalBytes)} with f32 weights, ${fmtBytes(f16.totalBytes)} with f16`);
      for (const w of warnings) out(`  warning: ${w}`);
      out(`  chat template: ${typeof m.tokenizerConfig.chat_template === 'string' ? 'yes' : 'no'}; eos ${JSON.stringify(m.tokenizerConfig.eos_token ?? null)}`);
    }
  }
  if (dataFile) {
    const { inspectDataset } = await import('../dataset-file');
    report.dataset = await inspectDataset(dataFile, asJson ? () => {} : out, tokenizerFiles ? { tokenizer: tokenizerFiles, seqLen } : undefined);
  }
  if (!modelDir && !dataFile) throw new Error('inspect needs --model DIR and/or --data FILE');
  if (asJson) out(JSON.stringify({ ...report, warnings }));
}
