// Acquires a GPUDevice suited to the engine from any `GPU` object (navigator.gpu in a
// browser worker, Dawn's `create()` in Node). Fast-path features are requested only where
// the adapter has them; limits are raised to what the adapter offers for the ones we use.
import { GpuContext } from './context';

export interface AdapterSummary {
  /** What to call the adapter in messages: its description, else device, else vendor and architecture. */
  name: string;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
}

export interface EngineDeviceOptions {
  /** Use only the baseline path: no shader-f16, no subgroups. */
  fallback?: boolean;
  powerPreference?: GPUPowerPreference;
  /** Extra options for requestAdapter (e.g. featureLevel: 'compatibility'). */
  adapterOptions?: GPURequestAdapterOptions;
}

/** Limits the engine benefits from; each is raised up to the adapter's value. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Buffer limits every WebGPU adapter guarantees (plans made without a device use these). */
export const WEBGPU_DEFAULT_LIMITS = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 } as const;

export const FAST_PATH_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;

export class NoWebGpuError extends Error {}

export function summarizeAdapter(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const k of [...WANTED_LIMITS, 'maxComputeWorkgroupsPerDimension', 'minStorageBufferOffsetAlignment'] as const) {
    limits[k] = Number((adapter.limits as unknown as Record<string, number>)[k]);
  }
  const vendorArch = [info?.vendor, info?.architecture].filter(Boolean).join(' ');
  return {
    name: info?.description || info?.device || vendorArch || 'WebGPU adapter',
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    features: [...adapter.features].map(String).sort(),
    limits,
  };
}

export async function requestEngineDevice(gpu: GPU | undefined, opts: EngineDeviceOptions = {}): Promise<{ ctx: GpuContext; adapter: AdapterSummary }> {
  if (!gpu) throw new NoWebGpuError('WebGPU is not available here (navigator.gpu is missing).');
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance', ...opts.adapterOptions });
  if (!adapter) throw new NoWebGpuError('WebGPU is present but no GPU adapter was found (requestAdapter returned null).');
  const requiredFeatures = opts.fallback ? [] : FAST_PATH_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) requiredLimits[k] = (adapter.limits as unknown as Record<string, number>)[k];
  const device = await adapter.requestDevice({ requiredFeatures: requiredFeatures as GPUFeatureName[], requiredLimits });
  return { ctx: new GpuContext(device), adapter: summarizeAdapter(adapter) };
}
