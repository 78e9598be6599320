import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../test/fixtures/tiny-model';
import { linearShape, type LinearModule } from '../engine/model/config';
import { planLoraLayout } from '../engine/model/lora-params';
import { adapterFlatParams, loadPeftFiles, loraSettingsOf } from './load';
import type { LoraAdapter, LoraWeights } from './lora';
import { exportPeft } from './peft';

const model = buildTinyModel({ layers: 3, seed: 4 });
const cfg = model.config;
const R = 2;

function weights(m: LinearModule, seed: number): LoraWeights {
  const { inFeatures, outFeatures } = linearShape(cfg, m);
  const f = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7 + k * 3 + i));
  return { A: f(R * inFeatures, 1), B: f(outFeatures * R, 2), inFeatures, outFeatures };
}

/** LoRA on layer 1 only (PEFT layers_to_transform [1]); layer 1 carries q_proj but not v_proj. */
const adapter: LoraAdapter = {
  config: { r: R, alpha: 4, dropout: 0, targetModules: ['q_proj', 'v_proj'], useRslora: false, baseModel: 'tiny' },
  layers: [{}, { q_proj: weights('q_proj', 1) }, {}],
};

describe('adapter loader', () => {
  it('keeps layers_to_transform: only the adapted layers get GPU slots', () => {
    const settings = loraSettingsOf(adapter);
    expect(settings.layersToTransform).toEqual([1]);
    const layout = planLoraLayout(cfg, settings);
    expect(layout.slots.map((s) => [s.layer, s.module])).toEqual([
      [1, 'q_proj'],
      [1, 'v_proj'],
    ]);
  });

  it('puts each module at its slot, and zeros for a target module the layer does not carry', () => {
    const layout = planLoraLayout(cfg, loraSettingsOf(adapter));
    const flat = adapterFlatParams(adapter, layout);
    const [q, v] = layout.slots;
    const w = adapter.layers[1].q_proj!;
    expect(flat.subarray(q.aOffset, q.aOffset + w.A.length)).toEqual(w.A);
    expect(flat.subarray(q.bOffset, q.bOffset + w.B.length)).toEqual(w.B);
    expect(flat.subarray(v.aOffset, v.bOffset + v.outFeatures * R).every((x) => x === 0)).toBe(true);
    // Nothing else is written: the sum of |values| is exactly that of q_proj's A and B.
    const abs = (a: Float32Array) => a.reduce((s, x) => s + Math.abs(x), 0);
    expect(abs(flat)).toBeCloseTo(abs(w.A) + abs(w.B), 3);
  });

  it('reads a PEFT pair (as stored) back to the same adapter and layers', async () => {
    // PEFT adapts every target module of a transformed layer (the importer insists).
    const full: LoraAdapter = { ...adapter, layers: [{}, { q_proj: weights('q_proj', 1), v_proj: weights('v_proj', 2) }, {}] };
    const files = Object.entries(exportPeft(full, cfg)).map(([name, data]) => ({ name, bytes: typeof data === 'string' ? new TextEncoder().encode(data) : data }));
    const back = await loadPeftFiles(files, cfg);
    expect(loraSettingsOf(back)).toEqual(loraSettingsOf(full));
    expect(back.layers[1].v_proj!.B).toEqual(full.layers[1].v_proj!.B);
    expect(back.layers[0]).toEqual({});
    await expect(loadPeftFiles(files.filter((f) => f.name !== 'adapter_config.json'), cfg, 'Adapter “x”')).rejects.toThrow(/Adapter “x” is missing adapter_config\.json/);
  });
});
