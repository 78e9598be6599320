// A run checkpoint as one file: a safetensors container whose tensors are the flat LoRA
// parameters and AdamW moments, and whose metadata holds the step, seed, data position,
// settings and (DPO) the run's cached reference log-probs. Readable by any safetensors tool, and checked on load.
import { memorySource, SafetensorsFile, serializeSafetensors } from '../engine/model/safetensors';
import type { RunCheckpoint } from './session';

const KIND = 'lora-studio-checkpoint';

export function encodeCheckpoint(c: RunCheckpoint): Uint8Array {
  const t = c.trainer;
  const meta = { step: t.step, seed: t.seed, layoutFloats: t.layoutFloats, dataPosition: t.dataPosition, position: c.position, settings: c.settings, elapsedMs: c.elapsedMs, ...(c.reference ? { reference: c.reference } : {}) };
  return serializeSafetensors(
    [
      { name: 'params', dtype: 'F32', shape: [t.params.length], data: t.params },
      { name: 'adam_m', dtype: 'F32', shape: [t.m.length], data: t.m },
      { name: 'adam_v', dtype: 'F32', shape: [t.v.length], data: t.v },
    ],
    { format: KIND, version: '1', state: JSON.stringify(meta) },
  );
}

export async function decodeCheckpoint(bytes: Uint8Array): Promise<RunCheckpoint> {
  const f = await SafetensorsFile.open(memorySource(bytes, 'checkpoint'));
  if (f.metadata.format !== KIND || f.metadata.version !== '1') throw new Error(`not a LoRA Studio checkpoint (format ${f.metadata.format ?? 'none'})`);
  const meta = JSON.parse(f.metadata.state ?? 'null') as Record<string, unknown> | null;
  if (!meta) throw new Error('checkpoint has no state');
  const [params, m, v] = await Promise.all([f.readF32('params'), f.readF32('adam_m'), f.readF32('adam_v')]);
  return {
    version: 1,
    trainer: { version: 1, step: meta.step as number, seed: meta.seed as number, layoutFloats: meta.layoutFloats as number, dataPosition: meta.dataPosition, params, m, v },
    position: meta.position as RunCheckpoint['position'],
    settings: meta.settings as RunCheckpoint['settings'],
    elapsedMs: meta.elapsedMs as number,
    // DPO's reference log-probs: f32 values, exact through JSON (doubles print round-trip).
    ...(Array.isArray(meta.reference) ? { reference: meta.reference as RunCheckpoint['reference'] } : {}),
  };
}
