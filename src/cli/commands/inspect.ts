// `inspect --model DIR [--data FILE]`: what the model is and what the dataset holds.
import { WEBGPU_DEFAULT_LIMITS } from '../../engine/gpu/device';
import { LINEAR_MODULES, loraParameterCount, parameterCount, type ModelConfig } from '../../engine/model/config';
import { planTrainingMemory, trainingWeightFit } from '../../train/memory-plan';
import type { MemorySettings } from '../../train/settings';
import { keptTensors, type KeptTensors, type WeightStorage } from '../../engine/model/weights';
import { chooseSeqLen } from '../../train/seq-len';
import { DEFAULT_ENGINE_OPTIONS } from '../../train/session';
import { num, optStr, type Values } from '../args';
import { inspectDataset } from '../dataset-file';
import { CliError, openCliModel, modelArgs } from '../model-dir';
import { probeNodeAdapter } from '../node-gpu';
import { chooseWeights } from '../weights';
import type { GgufBaseInfo } from '../../engine/model/model-files';

const fmtBytes = (b: number) => (b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(2)} GiB` : `${(b / (1 << 20)).toFixed(1)} MiB`);

const seqLenFlag = (v: Values): number | undefined => (v['seq-len'] === undefined ? undefined : num(v, 'seq-len', 0, { int: true, min: 8 }));

/** What `--weights auto` would pick for a `train` run of `mem` (batch 4, r=16 all linears) on this machine, and why (report lines and JSON). */
async function autoWeights(c: ModelConfig, mem: MemorySettings, kept: KeptTensors, gguf?: GgufBaseInfo): Promise<{ lines: string[]; json: { storage: string | null; reason: string; adapter: string | null } }> {
  const probe = await probeNodeAdapter();
  if ('error' in probe) {
    const line = `weights: auto cannot be decided here (${probe.error}); it picks the most precise of f32, f16, q8, q4 whose memory plan fits the GPU adapter`;
    return { lines: [line], json: { storage: null, reason: line, adapter: null } };
  }
  try {
    const w = chooseWeights('auto', probe.f16, c.dtype, trainingWeightFit(c, mem, DEFAULT_ENGINE_OPTIONS.recompute, probe, undefined, kept), gguf);
    return { lines: [`GPU adapter: ${probe.name}`, w.line], json: { storage: w.storage, reason: w.reason, adapter: probe.name } };
  } catch (e) {
    const line = `weights: ${(e as Error).message}`;
    return { lines: [`GPU adapter: ${probe.name}`, line], json: { storage: null, reason: line, adapter: probe.name } };
  }
}

export async function inspectCommand(v: Values, out: (line: string) => void): Promise<void> {
  const modelDir = optStr(v, 'model');
  const dataFile = optStr(v, 'data');
  const asJson = v.json === true;
  const report: Record<string, unknown> = {};
  const warnings: string[] = [];
  let seqLen = chooseSeqLen(seqLenFlag(v), null).seqLen;
  let tokenizerFiles: { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> } | null = null;
  if (modelDir) {
    const files = await openCliModel(modelDir, modelArgs(v));
    await files.close();
    const m = files.opened;
    const c = m.config;
    tokenizerFiles = { tokenizerJson: m.tokenizerJson, tokenizerConfig: m.tokenizerConfig };
    // --seq-len defaults to what the model takes; a longer one is what `train` refuses.
    const seq = chooseSeqLen(seqLenFlag(v), c.maxPositionEmbeddings);
    seqLen = seq.seqLen;
    if (seq.error) warnings.push(`--seq-len ${seqLen}: ${seq.error}; train will refuse it`);
    // What a `train` run allocates at batch 4, r=16 on all linears: the engine's own plan (default recompute), per weight dtype.
    const settings: MemorySettings = { rank: 16, targets: [...LINEAR_MODULES], batchSize: 4, seqLen };
    // A GGUF base's quantized tensors are planned as their blocks; the storage covers the rest.
    const kept = keptTensors(m.weights);
    const mem = (storage: WeightStorage) => planTrainingMemory(c, settings, { storage, recompute: DEFAULT_ENGINE_OPTIONS.recompute, kept }, WEBGPU_DEFAULT_LIMITS.maxStorageBufferBindingSize);
    let f32 = null;
    let f16 = null;
    try {
      [f32, f16] = [mem('f32'), mem('f16')];
    } catch (e) {
      warnings.push(`training memory at batch 4 × ${seqLen}: ${(e as Error).message}`);
    }
    // q8/q4 need rows of whole 32-value blocks: null (and no line) where the model's are not.
    const quant = (storage: 'q8' | 'q4') => {
      try {
        return mem(storage);
      } catch {
        return null;
      }
    };
    const [q8, q4] = f32 ? [quant('q8'), quant('q4')] : [null, null];
    const auto = await autoWeights(c, settings, kept, m.gguf);
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
      qkNorm: c.qkNorm,
      gemma: c.gemma,
      dtype: c.dtype,
      parameters: parameterCount(c),
      loraParametersR16AllLinear: loraParameterCount(c, 16, LINEAR_MODULES),
      maxPositionEmbeddings: c.maxPositionEmbeddings,
      trainingMemory: f32 && f16 ? { batch: 4, seqLen, rank: 16, recompute: f32.recompute, f32WeightsBytes: f32.totalBytes, f16WeightsBytes: f16.totalBytes, q8WeightsBytes: q8?.totalBytes ?? null, q4WeightsBytes: q4?.totalBytes ?? null } : null,
      chatTemplate: typeof m.tokenizerConfig.chat_template === 'string',
      eosToken: m.tokenizerConfig.eos_token ?? null,
      weights: auto.json,
      gguf: m.gguf ? { file: m.gguf.file, bytes: m.gguf.bytes, weightTypes: m.gguf.weightTypes, types: m.gguf.types, quantized: m.gguf.quantized } : null,
    };
    if (!asJson) {
      out(`model ${modelDir}`);
      if (m.gguf) out(`  GGUF base: ${m.gguf.weightTypes} weights, ${fmtBytes(m.gguf.bytes)}${m.gguf.quantized ? ' (quantized tensors are used as stored; the memory lines below plan them so, with its float tensors as f32/f16/q8/q4)' : ''}; tokenizer from ${files.baseId}`);
      out(`  ${c.architecture}, ${c.numLayers} layers, hidden ${c.hiddenSize}, mlp ${c.intermediateSize}, heads ${c.numHeads}/${c.numKvHeads} (head dim ${c.headDim}), vocab ${c.vocabSize}`);
      out(`  ${(parameterCount(c) / 1e6).toFixed(1)}M parameters (${c.dtype}), embeddings ${c.tieWordEmbeddings ? 'tied' : 'untied'}${c.attentionBias ? ', q/k/v biases' : ''}${c.qkNorm ? ', per-head q/k norms' : ''}`);
      if (c.gemma) {
        const g = c.gemma;
        const local = g.slidingLayers.filter((x) => x).length;
        out(`  gemma3: ${local} sliding-window layers (window ${g.slidingWindow}, RoPE base ${g.ropeLocalTheta}), ${c.numLayers - local} global (RoPE base ${c.ropeTheta}${g.ropeLinearFactor !== 1 ? ` / ${g.ropeLinearFactor} linear` : ''}); (1 + w) norms before and after each sublayer, GELU-tanh MLP, embedding × ${g.embedScale}, scores × ${g.queryPreAttnScalar}^-0.5`);
      }
      out(`  LoRA r=16 on all linear layers: ${(loraParameterCount(c, 16, LINEAR_MODULES) / 1e6).toFixed(2)}M trainable parameters`);
      out(`  context: ${c.maxPositionEmbeddings} positions (max_position_embeddings)`);
      if (f32 && f16) out(`  training memory (batch 4 × ${seqLen}, r=16 all linears, recompute ${f32.recompute}): ${fmtBytes(f32.totalBytes)} with f32 weights, ${fmtBytes(f16.totalBytes)} with f16${q8 && q4 ? `, ${fmtBytes(q8.totalBytes)} with q8, ${fmtBytes(q4.totalBytes)} with q4` : ''}`);
      for (const w of warnings) out(`  warning: ${w}`);
      out(`  chat template: ${typeof m.tokenizerConfig.chat_template === 'string' ? 'yes' : 'no'}; eos ${JSON.stringify(m.tokenizerConfig.eos_token ?? null)}`);
      for (const l of auto.lines) out(`  ${l}`);
    }
  }
  let unusable: string | null = null;
  if (dataFile) {
    try {
      const d = await inspectDataset(dataFile, asJson ? () => {} : out, tokenizerFiles ? { tokenizer: tokenizerFiles, seqLen } : undefined);
      const why = d.fileErrors.length > 0 ? `${d.fileErrors.length} file error${d.fileErrors.length === 1 ? '' : 's'} (${d.fileErrors[0].message})` : d.examples === 0 ? 'no valid examples' : null;
      if (why) unusable = `--data ${dataFile}: the dataset cannot be used: ${why}`;
      report.dataset = { ...d, usable: why === null };
    } catch (e) {
      // A file that cannot be read at all is part of the report too (e.g. beside --model's).
      unusable = (e as Error).message;
      report.dataset = { file: dataFile, error: unusable, usable: false };
      if (!asJson) {
        out(`dataset ${dataFile}`);
        out(`  file error: ${unusable}`);
      }
    }
  }
  if (!modelDir && !dataFile) throw new Error('inspect needs --model DIR and/or --data FILE');
  if (asJson) out(JSON.stringify({ ...report, warnings }));
  // The whole report is out; the exit status tells scripts the dataset cannot be trained on.
  if (unusable) throw new CliError(unusable);
}
