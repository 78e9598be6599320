// Test helper (not shipped): re-encodes a GGUF's weights in a block type with the writer's
// quantizers (ggml's reference quantizers), for reader and interop tests.
import { collectChunks, ggufChunks, readGguf } from './gguf-format';
import type { GgmlType } from './quant';
import { memorySource } from './safetensors';

/**
 * A GGUF with its 2-D tensors (or those `only` names) re-encoded as `type` (norms, biases and
 * rope factors stay F32, as llama.cpp requires) by the writer's quantizer. KVs and tensor order
 * are kept.
 */
export async function requantizeGguf(bytes: Uint8Array, type: GgmlType, only?: readonly string[]): Promise<Uint8Array> {
  const g = await readGguf(memorySource(bytes, 'input.gguf'));
  const pick = (name: string, shape: number[]) => shape.length === 2 && (!only || only.includes(name));
  const specs = g.tensors.map((t) => ({ name: t.name, shape: t.shape, type: pick(t.name, t.shape) ? type : ('F32' as const) }));
  return collectChunks(
    ggufChunks([...g.kv.values()], specs, (s) => g.readF32(s.name)),
  );
}
