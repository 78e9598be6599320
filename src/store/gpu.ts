// GPU status as the UI sees it: filled once from the worker, then read by panels; and the GPU
// screen's measurements (kernel self-test, step profile, kernel benchmark) as they come back.
import { create } from 'zustand';
import { callback, errorMessage, trainer, type GpuStatus, type KernelBenchReport, type KernelBenchReportRow, type SmokeResult, type StepProfileReport } from '../worker/client';
import type { TrainSettings, WeightsFlag } from '../worker/settings';
import type { ModelRef } from '../persist/records';

interface GpuState {
  status: GpuStatus | null;
  smoke: SmokeResult[] | null;
  smokeRunning: boolean;
  profile: StepProfileReport | null;
  profiling: boolean;
  profileError: string | null;
  bench: KernelBenchReport | null;
  /** Rows of the benchmark in flight, as each finishes. */
  benchRows: KernelBenchReportRow[];
  benching: boolean;
  benchError: string | null;
  load(): Promise<void>;
  runSmoke(): Promise<void>;
  /** One step as the run would train it: these settings and the Model screen's weight format. */
  profileStep(model: ModelRef, settings: TrainSettings, weights: WeightsFlag): Promise<void>;
  runBench(model: ModelRef, settings: TrainSettings): Promise<void>;
}

export const useGpu = create<GpuState>((set, get) => ({
  status: null,
  smoke: null,
  smokeRunning: false,
  profile: null,
  profiling: false,
  profileError: null,
  bench: null,
  benchRows: [],
  benching: false,
  benchError: null,
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
  async profileStep(model, settings, weights) {
    set({ profiling: true, profileError: null, profile: null });
    try {
      set({ profile: await trainer().profileStep(model, settings, weights) });
    } catch (e) {
      set({ profileError: errorMessage(e) });
    } finally {
      set({ profiling: false });
    }
  },
  async runBench(model, settings) {
    set({ benching: true, benchError: null, bench: null, benchRows: [] });
    try {
      const onRow = callback((r: KernelBenchReportRow) => set({ benchRows: [...get().benchRows, r] }));
      set({ bench: await trainer().kernelBench(model, settings, onRow) });
    } catch (e) {
      set({ benchError: errorMessage(e) });
    } finally {
      set({ benching: false });
    }
  },
}));
