// `inspect --model DIR [--data FILE]`: what the model is and what the dataset holds.
import { estimateTrainingMemory, LINEAR_MODULES, loraParameterCount, parameterCount } from '../../engine/model/config';
import { openModelFiles } from '../../engine/model/model-files';
import { num, optStr, type Values } from '../args';
import { directoryModelFiles } from '../model-dir';

const fmtBytes = (b: number) => (b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(2)} GiB` : `${(b / (1 << 20)).toFixed(1)} MiB`);

export async function inspectCommand(v: Values, out: (line: string) => void): Promise<void> {
  const modelDir = optStr(v, 'model');
  const dataFile = optStr(v, 'data');
  const asJson = v.json === true;
  const report: Record<string, unknown> = {};
  let tokenizerFiles: { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> } | null = null;
  if (modelDir) {
    const files = directoryModelFiles(modelDir);
    const m = await openModelFiles(files).finally(() => files.close());
    const c = m.config;
    tokenizerFiles = { tokenizerJson: m.tokenizerJson, tokenizerConfig: m.tokenizerConfig };
    const mem = estimateTrainingMemory(c, { weightBytesPerParam: 4, r: 16, targets: LINEAR_MODULES, batch: 4, seqLen: 512 });
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
      trainingMemoryEstimateB4T512: mem.totalBytes,
      chatTemplate: typeof m.tokenizerConfig.chat_template === 'string',
      eosToken: m.tokenizerConfig.eos_token ?? null,
    };
    if (!asJson) {
      out(`model ${modelDir}`);
      out(`  ${c.architecture}, ${c.numLayers} layers, hidden ${c.hiddenSize}, mlp ${c.intermediateSize}, heads ${c.numHeads}/${c.numKvHeads} (head dim ${c.headDim}), vocab ${c.vocabSize}`);
      out(`  ${(parameterCount(c) / 1e6).toFixed(1)}M parameters (${c.dtype}), embeddings ${c.tieWordEmbeddings ? 'tied' : 'untied'}${c.attentionBias ? ', q/k/v biases' : ''}`);
      out(`  LoRA r=16 on all linear layers: ${(loraParameterCount(c, 16, LINEAR_MODULES) / 1e6).toFixed(2)}M trainable parameters`);
      out(`  training memory estimate (f32 weights, batch 4 × 512): ${fmtBytes(mem.totalBytes)}`);
      out(`  chat template: ${typeof m.tokenizerConfig.chat_template === 'string' ? 'yes' : 'no'}; eos ${JSON.stringify(m.tokenizerConfig.eos_token ?? null)}`);
    }
  }
  if (dataFile) {
    const { inspectDataset } = await import('../dataset-file');
    const seqLen = num(v, 'seq-len', 512, { int: true, min: 8 });
    report.dataset = await inspectDataset(dataFile, asJson ? () => {} : out, tokenizerFiles ? { tokenizer: tokenizerFiles, seqLen } : undefined);
  }
  if (!modelDir && !dataFile) throw new Error('inspect needs --model DIR and/or --data FILE');
  if (asJson) out(JSON.stringify(report));
}
