// GPU status as the UI sees it: filled once from the worker, then read by panels.
import { create } from 'zustand';
import { trainer, type GpuStatus, type SmokeResult } from '../worker/client';

interface GpuState {
  status: GpuStatus | null;
  smoke: SmokeResult[] | null;
  smokeRunning: boolean;
  load(): Promise<void>;
  runSmoke(): Promise<void>;
}

export const useGpu = create<GpuState>((set, get) => ({
  status: null,
  smoke: null,
  smokeRunning: false,
  async load() {
    if (get().status) return;
    set({ status: await trainer().gpuStatus() });
  },
  async runSmoke() {
    set({ smokeRunning: true });
    try {
      set({ smoke: await trainer().kernelSmoke() });
    } finally {
      set({ smokeRunning: false });
    }
  },
}));
