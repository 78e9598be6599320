// The CLI's GPU: Dawn through the `webgpu` package (Vulkan/Metal/D3D12 as the machine has).
import { create, globals } from 'webgpu';
import { requestEngineDevice } from '../engine/gpu/device';

export async function nodeEngineDevice(opts: { fallback?: boolean } = {}) {
  Object.assign(globalThis, globals);
  const flags = process.platform === 'linux' ? ['backend=vulkan'] : [];
  try {
    return await requestEngineDevice(create(flags), { fallback: opts.fallback });
  } catch (e) {
    throw new Error(
      `no GPU device (${(e as Error).message}). On Linux install libvulkan1 and a Vulkan driver ` +
        '(Mesa lavapipe >= 25 works without a GPU: sudo bash scripts/setup-system.sh).',
      { cause: e },
    );
  }
}
