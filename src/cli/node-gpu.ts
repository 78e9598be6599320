// The CLI's GPU: Dawn through the `webgpu` package (Vulkan/Metal/D3D12 as the machine has).
import { create, globals } from 'webgpu';
import { requestEngineDevice, summarizeAdapter } from '../engine/gpu/device';

// The Dawn instance must outlive every device made from it: if it is garbage-collected while a
// device is in use, the native side crashes (seen as futex/mutex aborts and segfaults).
let dawn: GPU | null = null;

function dawnGpu(): GPU {
  Object.assign(globalThis, globals);
  return (dawn ??= create(process.platform === 'linux' ? ['backend=vulkan'] : []));
}

/** The adapter a run would get, without opening a device (for reports); the reason when there is none. */
export async function probeNodeAdapter(): Promise<{ name: string; f16: boolean; maxBufferSize: number; maxStorageBufferBindingSize: number } | { error: string }> {
  try {
    const adapter = await dawnGpu().requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { error: 'no GPU adapter found' };
    const { maxBufferSize, maxStorageBufferBindingSize } = adapter.limits;
    return { name: summarizeAdapter(adapter).name, f16: adapter.features.has('shader-f16'), maxBufferSize, maxStorageBufferBindingSize };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

export async function nodeEngineDevice(opts: { fallback?: boolean } = {}) {
  const gpu = dawnGpu();
  try {
    return await requestEngineDevice(gpu, { fallback: opts.fallback });
  } catch (e) {
    throw new Error(
      `no GPU device (${(e as Error).message}). On Linux install libvulkan1 and a Vulkan driver ` +
        '(Mesa lavapipe >= 25 works without a GPU: sudo bash scripts/setup-system.sh).',
      { cause: e },
    );
  }
}
