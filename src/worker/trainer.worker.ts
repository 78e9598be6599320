// The studio's worker: owns the GPU device and runs all engine work off the UI thread.
import * as Comlink from 'comlink';
import { requestEngineDevice, type AdapterSummary } from '../engine/gpu/device';
import type { GpuContext } from '../engine/gpu/context';
import { runKernelSmoke, type SmokeResult } from '../engine/smoke';

export type GpuStatus =
  | { available: true; adapter: AdapterSummary; f16: boolean; subgroups: boolean; timestamps: boolean }
  | { available: false; reason: string };

let ctxPromise: Promise<{ ctx: GpuContext; adapter: AdapterSummary }> | null = null;

function device() {
  ctxPromise ??= requestEngineDevice((self.navigator as Navigator & { gpu?: GPU }).gpu);
  return ctxPromise;
}

const api = {
  async gpuStatus(): Promise<GpuStatus> {
    try {
      const { ctx, adapter } = await device();
      return { available: true, adapter, f16: ctx.caps.f16, subgroups: ctx.caps.subgroups, timestamps: ctx.caps.timestamps };
    } catch (e) {
      ctxPromise = null;
      return { available: false, reason: (e as Error).message };
    }
  },
  async kernelSmoke(): Promise<SmokeResult[]> {
    const { ctx } = await device();
    return runKernelSmoke(ctx);
  },
};

export type TrainerApi = typeof api;
Comlink.expose(api);
