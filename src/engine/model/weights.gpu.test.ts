import { describe, expect, it } from 'vitest';
import { LlamaModel, TrainingGraph } from './llama';
import { type ModelWeights, type WeightStorage, keptTensors, plannedWeightBytes, uploadWeights } from './weights';
import type { ModelConfig } from './config';
import type { FloatTensorSource } from './safetensors';
import { exportBaseGguf } from '../../adapters/gguf';
import { openGgufModel } from './gguf-model';
import { requantizeGguf } from './quant.testutil';
import type { GpuContext } from '../gpu/context';
import { SafetensorsFile, memorySource, serializeSafetensors } from './safetensors';
import { referenceForward } from '../reference/model';
import { randomBatch, storedWeights } from './tiny-random.testutil';
import { buildTinyModel, weightsF64 } from '../../../test/fixtures/tiny-model';
import { expectNoGpuError, getTestContext } from '../../../test/gpu-device';
import { expectClose } from '../../../test/numeric';

describe('uploading base weights from safetensors', () => {
  for (const opts of [{ architecture: 'llama' as const, tied: false }, { architecture: 'qwen2' as const, tied: true }, { architecture: 'qwen3' as const, tied: true, headDim: 12 }, { architecture: 'gemma3_text' as const, tied: true, headDim: 12 }]) {
    it(`streams a ${opts.architecture} model (tied=${opts.tied}) tensor by tensor; logits match the reference`, async () => {
      const ctx = await getTestContext({ fallback: true });
      const tiny = buildTinyModel({ ...opts, layers: 2, seed: 5 });
      const store = await SafetensorsFile.open(memorySource(tiny.files['model.safetensors'] as Uint8Array, 'model.safetensors'));
      const cfg = tiny.config;
      const batch = randomBatch(cfg, 1, 7, 6, { packed: true });
      const seen: string[] = [];
      const logits = await expectNoGpuError(ctx, async () => {
        const w = await uploadWeights(ctx, cfg, store, { onProgress: (_d, _t, name) => seen.push(name) });
        const g = new TrainingGraph(new LlamaModel(ctx, cfg, w), null, 1, 7);
        const out = ctx.createBuffer(7 * cfg.vocabSize * 4);
        g.writeBatch(batch);
        const rec = ctx.recorder();
        g.recordForward(rec);
        g.recordLogits(rec, out);
        rec.submit();
        return ctx.readF32(out, 7 * cfg.vocabSize);
      });
      expect(seen.length).toBe(store.names().filter((n) => !(cfg.tieWordEmbeddings && n === 'lm_head.weight')).length);
      // f32 GPU vs float64 on the same f32 weights (C = 32): 1e-4 as in the model tests.
      expectClose(logits, referenceForward(cfg, weightsF64(tiny), null, batch).logits, 1e-4, 1e-4, 'logits');
    });
  }

  it('refuses a checkpoint that does not match config.json, naming the tensor', async () => {
    const ctx = await getTestContext({ fallback: true });
    const tiny = buildTinyModel({ layers: 2, seed: 5 });
    const bad = [...tiny.weights].map(([name, data]) => ({ name, dtype: 'F32' as const, shape: name === 'model.norm.weight' ? [data.length - 1] : tiny.shapes.get(name)!, data: name === 'model.norm.weight' ? data.slice(1) : data }));
    const store = await SafetensorsFile.open(memorySource(serializeSafetensors(bad), 'bad.safetensors'));
    await expect(uploadWeights(ctx, tiny.config, store)).rejects.toThrow(/model\.norm\.weight/);
  });

  it('refuses q8/q4 for a model whose rows are not whole 32-value blocks, before reading a tensor', async () => {
    const ctx = await getTestContext({ fallback: true });
    const tiny = buildTinyModel({ layers: 1, seed: 5 }); // intermediate_size 48
    let reads = 0;
    const store = await SafetensorsFile.open(memorySource(tiny.files['model.safetensors'] as Uint8Array, 'model.safetensors'));
    const counting: FloatTensorSource = { names: () => store.names(), info: (n) => store.info(n), readF32: (n) => (reads++, store.readF32(n)) };
    await expect(uploadWeights(ctx, tiny.config, counting, { storage: 'q8' })).rejects.toThrow(/model\.layers\.0\.mlp\.down_proj\.weight: a q8_0 weight needs its row length \(the input features\) to be a multiple of 32, got 48/);
    expect(reads).toBe(0);
  });
});

/** Logits of one forward over `batch` with uploaded weights. */
async function gpuLogits(ctx: GpuContext, cfg: ModelConfig, w: ModelWeights, batch: ReturnType<typeof randomBatch>, T: number): Promise<Float32Array> {
  const g = new TrainingGraph(new LlamaModel(ctx, cfg, w), null, 1, T);
  const out = ctx.createBuffer(T * cfg.vocabSize * 4);
  g.writeBatch(batch);
  const rec = ctx.recorder();
  g.recordForward(rec);
  g.recordLogits(rec, out);
  rec.submit();
  return ctx.readF32(out, T * cfg.vocabSize);
}

// Quantized values are exact (ggml's quantizer, then the readers dequantize exactly as ggml),
// so the GPU and the float64 reference on the dequantized weights differ by f32 rounding only:
// the same 1e-4 as the f32 model tests.
describe('quantized base weights', () => {
  for (const storage of ['q8', 'q4'] as const) {
    it(`quantize-on-load (${storage}) of a safetensors model, tensor by tensor: logits match the reference on the dequantized weights`, async () => {
      const ctx = await getTestContext({ fallback: true });
      const tiny = buildTinyModel({ layers: 2, seed: 7, intermediateSize: 64, tied: false });
      const store = await SafetensorsFile.open(memorySource(tiny.files['model.safetensors'] as Uint8Array, 'model.safetensors'));
      const cfg = tiny.config;
      const batch = randomBatch(cfg, 1, 7, 8, { packed: true });
      const got = await expectNoGpuError(ctx, async () => {
        const w = await uploadWeights(ctx, cfg, store, { storage });
        return { logits: await gpuLogits(ctx, cfg, w, batch, 7), w };
      });
      expect(got.w.layers[0].linear.q_proj.dtype).toBe(storage === 'q8' ? 'q8_0' : 'q4_0');
      expect(got.w.embed.dtype).toBe('q8_0');
      expect(got.w.lmHead.dtype).toBe('q8_0');
      expect(got.w.bytes).toBe(plannedWeightBytes(cfg, storage));
      expect(got.w.bytes).toBeLessThan(plannedWeightBytes(cfg, 'f32') / (storage === 'q8' ? 3 : 4));
      expectClose(got.logits, referenceForward(cfg, storedWeights(cfg, weightsF64(tiny), storage), null, batch).logits, 1e-4, 1e-4, 'logits');
    });
  }

  // Q4_K/Q6_K rows are 256 values: C = F = 256. token_embd and output keep what requantizeGguf gives them.
  for (const [type, C] of [['Q8_0', 64], ['Q4_0', 64], ['Q4_K', 256], ['Q6_K', 256]] as const) {
    it(`a GGUF base's ${type} tensors are uploaded as stored: logits match the reference on the file's dequantized values`, async () => {
      const ctx = await getTestContext({ fallback: true });
      const tiny = buildTinyModel({ layers: 1, seed: 9, hiddenSize: C, intermediateSize: C, numHeads: 2, numKvHeads: 1, tied: false });
      const f32 = await exportBaseGguf(tiny.config, { readF32: async (n: string) => tiny.weights.get(n)! }, { tokenizerJson: tiny.tokenizerJson, tokenizerConfig: tiny.tokenizerConfig, generationConfig: tiny.generationConfig });
      const { config: cfg, weights: file } = await openGgufModel(memorySource(await requantizeGguf(f32, type), 'm.gguf'));
      const values = new Map<string, Float64Array>();
      for (const n of file.names()) values.set(n, Float64Array.from(await file.readF32(n)));
      const batch = randomBatch(cfg, 1, 5, 10, { packed: true });
      const got = await expectNoGpuError(ctx, async () => {
        const w = await uploadWeights(ctx, cfg, file, { storage: 'f32' as WeightStorage });
        return { logits: await gpuLogits(ctx, cfg, w, batch, 5), w };
      });
      const dtype = type.toLowerCase();
      expect([got.w.embed.dtype, got.w.lmHead.dtype, got.w.layers[0].linear.down_proj.dtype]).toEqual([dtype, dtype, dtype]);
      // The plan sizes the file's blocks (not f32 copies), and the weights say what they really are.
      expect(got.w.bytes).toBe(plannedWeightBytes(cfg, 'f32', keptTensors(file)));
      expect(got.w.storage).toBe(type === 'Q8_0' || type === 'Q6_K' ? 'q8' : 'q4');
      expectClose(got.logits, referenceForward(cfg, values, null, batch).logits, 1e-4, 1e-4, 'logits');
    });
  }
});
