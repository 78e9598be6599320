import { describe, expect, it } from 'vitest';
import { gpuBusyReason, type GpuHolders } from './gpu-busy';

const free: GpuHolders = { training: null, evaluating: false };
const training: GpuHolders = { training: { name: 'style', paused: false }, evaluating: false };
const paused: GpuHolders = { training: { name: 'style', paused: true }, evaluating: false };

describe('one rule for who may use the GPU', () => {
  it('a free GPU refuses nothing', () => {
    expect(gpuBusyReason(free, 'profile a step', 'training-graph')).toBeNull();
    expect(gpuBusyReason(free, 'use the playground', 'inference')).toBeNull();
  });

  it('a training run refuses every other use, naming the run', () => {
    expect(gpuBusyReason(training, 'use the playground', 'inference')).toBe('The GPU is training “style”. Pause the run (or wait for it to finish) to use the playground.');
    expect(gpuBusyReason(training, 'profile a step', 'training-graph')).toMatch(/training “style”/);
  });

  it('a paused run lets inference through but not work that builds its own training graph', () => {
    expect(gpuBusyReason(paused, 'evaluate', 'inference')).toBeNull();
    expect(gpuBusyReason(paused, 'run the kernel benchmark', 'training-graph')).toBe(
      'The paused run “style” still holds its GPU memory. Stop it (or resume it and let it finish) to run the kernel benchmark.',
    );
  });

  it('an evaluation refuses everything else, even with no run', () => {
    expect(gpuBusyReason({ ...free, evaluating: true }, 'use the playground', 'inference')).toMatch(/An evaluation is running/);
    expect(gpuBusyReason({ ...paused, evaluating: true }, 'start a run', 'training-graph')).toMatch(/Cancel it .* to start a run/);
  });
});
