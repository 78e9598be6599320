// Runs and adapters as listed from IndexedDB, with the actions of the runs screen.
import { create } from 'zustand';
import { deleteAdapter, deleteRun, getMetrics, listAdapters, listRuns, updateRun } from '../persist/repo';
import type { AdapterRecord, MetricPoint, RunRecord } from '../persist/records';
import { errorMessage, trainer, type NamedBytes } from '../worker/client';

export type AdapterMeta = Omit<AdapterRecord, 'files'>;

interface RunsState {
  runs: RunRecord[];
  adapters: AdapterMeta[];
  metrics: Record<string, MetricPoint[]>;
  loaded: boolean;
  error: string | null;
  refresh(): Promise<void>;
  loadMetrics(runId: string): Promise<void>;
  setNotes(runId: string, notes: string): Promise<void>;
  removeRun(runId: string): Promise<void>;
  removeAdapter(id: string): Promise<void>;
  exportZip(id: string, format?: 'peft' | 'gguf'): Promise<{ fileName: string; bytes: Uint8Array } | null>;
  importAdapter(files: NamedBytes[], name: string, loaded: { id: string; config: unknown } | null): Promise<boolean>;
}

export const useRuns = create<RunsState>((set, get) => ({
  runs: [],
  adapters: [],
  metrics: {},
  loaded: false,
  error: null,
  async refresh() {
    try {
      const active = await trainer().activeRunId();
      const [runs, adapters] = await Promise.all([listRuns(active), listAdapters()]);
      set({ runs, adapters, loaded: true });
    } catch (e) {
      set({ error: errorMessage(e), loaded: true });
    }
  },
  async loadMetrics(runId) {
    const pts = await getMetrics(runId);
    set({ metrics: { ...get().metrics, [runId]: pts } });
  },
  async setNotes(runId, notes) {
    await updateRun(runId, { notes });
    set({ runs: get().runs.map((r) => (r.id === runId ? { ...r, notes } : r)) });
  },
  async removeRun(runId) {
    await deleteRun(runId);
    await get().refresh();
  },
  async removeAdapter(id) {
    await deleteAdapter(id);
    await get().refresh();
  },
  async exportZip(id, format = 'peft') {
    set({ error: null });
    try {
      return format === 'gguf' ? await trainer().exportAdapterGguf(id) : await trainer().exportAdapterZip(id);
    } catch (e) {
      set({ error: errorMessage(e) });
      return null;
    }
  },
  async importAdapter(files, name, loaded) {
    set({ error: null });
    try {
      await trainer().importAdapter(files, name, loaded);
      await get().refresh();
      return true;
    } catch (e) {
      set({ error: errorMessage(e) });
      return false;
    }
  },
}));
