import { expect, it } from 'vitest';
import { summarizeAdapter } from './device';

const fakeAdapter = (info: Partial<GPUAdapterInfo>) =>
  ({ info, features: new Set<string>(['subgroups']), limits: { maxBufferSize: 1 << 28 } }) as unknown as GPUAdapter;

it('names an adapter by description, else device, else vendor and architecture', () => {
  expect(summarizeAdapter(fakeAdapter({ description: 'NVIDIA H100', device: 'x', vendor: 'nvidia' })).name).toBe('NVIDIA H100');
  expect(summarizeAdapter(fakeAdapter({ description: '', device: 'llvmpipe', vendor: 'mesa' })).name).toBe('llvmpipe');
  expect(summarizeAdapter(fakeAdapter({ description: '', device: '', vendor: 'google', architecture: 'swiftshader' })).name).toBe('google swiftshader');
  expect(summarizeAdapter(fakeAdapter({})).name).toBe('WebGPU adapter');
});
