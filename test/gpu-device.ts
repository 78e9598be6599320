// Shared helper for GPU tests in Node: a real WebGPU device through Dawn (`webgpu` package)
// on whatever Vulkan driver is present (Mesa lavapipe on CI). It fails loudly, never skips.
import { create, globals } from 'webgpu';
import { GpuContext } from '../src/engine/gpu/context';

Object.assign(globalThis, globals);

export interface TestDeviceOptions {
  /** Force the baseline path: no shader-f16, no subgroups (what Chrome's software adapter has). */
  fallback?: boolean;
  /** Request no limits at all: the WebGPU defaults (16 KiB workgroup memory, 8 storage buffers, 256 invocations). Implies fallback. */
  defaultLimits?: boolean;
}

let gpu: GPU | null = null;
const cache = new Map<string, Promise<GpuContext>>();

async function makeContext(opts: TestDeviceOptions): Promise<GpuContext> {
  gpu ??= create(['backend=vulkan']);
  // Dawn prints its "maxDynamic…BuffersPerPipelineLayout artificially reduced" notices natively
  // here, whatever limits are requested later; vitest.config.ts drops them from the test output.
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new Error(
      'No WebGPU adapter from Dawn (backend=vulkan). GPU tests need libvulkan1 and Mesa >= 25 lavapipe ' +
        '(mesa-vulkan-drivers from bookworm-backports): run `sudo bash scripts/setup-system.sh`.',
    );
  }
  const want: GPUFeatureName[] = opts.fallback || opts.defaultLimits ? [] : (['shader-f16', 'subgroups', 'timestamp-query'] as GPUFeatureName[]);
  const requiredFeatures = want.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const device = opts.defaultLimits ? await adapter.requestDevice() : await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxStorageBuffersPerShaderStage: Math.min(l.maxStorageBuffersPerShaderStage, 10),
    },
  });
  device.addEventListener('uncapturederror', (e) => {
    // Surface validation errors in the test output instead of letting results go silently wrong.
    console.error('WebGPU uncaptured error:', (e as GPUUncapturedErrorEvent).error.message);
  });
  return new GpuContext(device);
}

/** A GpuContext on the test device; one per option set per test file. */
export function getTestContext(opts: TestDeviceOptions = {}): Promise<GpuContext> {
  const key = JSON.stringify(opts);
  let p = cache.get(key);
  if (!p) {
    p = makeContext(opts);
    cache.set(key, p);
  }
  return p;
}

/** A GpuContext on a device of its own, never shared: for a test that loses (destroys) it. */
export function ownTestContext(opts: TestDeviceOptions = {}): Promise<GpuContext> {
  return makeContext(opts);
}

/** Runs `fn` inside a validation error scope and throws the first error it raised. */
export async function expectNoGpuError<T>(ctx: GpuContext, fn: () => Promise<T> | T): Promise<T> {
  ctx.device.pushErrorScope('validation');
  ctx.device.pushErrorScope('out-of-memory');
  const out = await fn();
  const oom = await ctx.device.popErrorScope();
  const val = await ctx.device.popErrorScope();
  if (val) throw new Error(`WebGPU validation error: ${val.message}`);
  if (oom) throw new Error(`WebGPU out of memory: ${oom.message}`);
  return out;
}
