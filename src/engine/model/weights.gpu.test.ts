import { describe, expect, it } from 'vitest';
import { LlamaModel, TrainingGraph } from './llama';
import { uploadWeights } from './weights';
import { SafetensorsFile, memorySource, serializeSafetensors } from './safetensors';
import { referenceForward } from '../reference/model';
import { randomBatch } from './tiny-random.testutil';
import { buildTinyModel, weightsF64 } from '../../../test/fixtures/tiny-model';
import { expectNoGpuError, getTestContext } from '../../../test/gpu-device';
import { expectClose } from '../../../test/numeric';

describe('uploading base weights from safetensors', () => {
  for (const opts of [{ architecture: 'llama' as const, tied: false }, { architecture: 'qwen2' as const, tied: true }, { architecture: 'qwen3' as const, tied: true, headDim: 12 }]) {
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
});
