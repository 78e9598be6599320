// Which engine parts this build can run (from the worker), for "engine not ready" notices.
import { create } from 'zustand';
import { trainer, type EngineStatus } from '../worker/client';

interface EngineState {
  status: EngineStatus | null;
  load(): Promise<void>;
}

export const useEngine = create<EngineState>((set, get) => ({
  status: null,
  async load() {
    if (!get().status) set({ status: await trainer().engineStatus() });
  },
}));
