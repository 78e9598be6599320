// The CLI's GPU: Dawn through the `webgpu` package (Vulkan/Metal/D3D12 as the machine has).
import { create, globals } from 'webgpu';
import { requestEngineDevice } from '../engine/gpu/device';

// The Dawn instance must outlive every device made from it: if it is garbage-collected while a
// device is in use, the native side crashes (seen as futex/mutex aborts and segfaults).
let dawn: GPU | null = null;

export async function nodeEngineDevice(opts: { fallback?: boolean } = {}) {
  Object.assign(globalThis, globals);
  dawn ??= create(process.platform === 'linux' ? ['backend=vulkan'] : []);
  try {
    return await requestEngineDevice(dawn, { fallback: opts.fallback });
  } catch (e) {
    throw new Error(
      `no GPU device (${(e as Error).message}). On Linux install libvulkan1 and a Vulkan driver ` +
        '(Mesa lavapipe >= 25 works without a GPU: sudo bash scripts/setup-system.sh).',
      { cause: e },
    );
  }
}
