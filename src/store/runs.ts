// Runs and adapters as listed from IndexedDB, with the actions of the runs screen. Lists are
// read here; every edit (notes, deletes) and every export goes through the worker.
import { create } from 'zustand';
import { getMetrics, listAdapters, listRuns } from '../persist/repo';
import type { AdapterRecord, MetricPoint, RunRecord } from '../persist/records';
import { callback, errorMessage, trainer, type MergedExportPlan, type MergedFormat, type NamedBytes } from '../worker/client';
import type { MergedGgufType, RecipeTarget } from '../worker/settings';
import { folderTarget, singleFileBlobTarget, zipBlobTarget, type DirectoryLike, type ExportTarget } from './export-sink';

export type AdapterMeta = Omit<AdapterRecord, 'files'>;

/** A folder the user picked (File System Access API), as the export needs it. */
export type PickedFolder = DirectoryLike & { name: string; getDirectoryHandle(name: string, opts: { create: true }): Promise<DirectoryLike & { name: string }> };

const EXPORT_JOB = 'merged-export';

export interface ExportProgress {
  adapterId: string;
  format: MergedFormat;
  /** 'folder': streamed to disk; 'download': assembled in this page, then downloaded. */
  to: 'folder' | 'download';
  plan: MergedExportPlan | null;
  file: string | null;
  bytesDone: number;
  cancelling: boolean;
}

export interface ExportResult {
  /** What was saved, for the message ("folder/sub" or the download's file name). */
  where: string;
  /** The assembled file for a download (the screen hands it to the browser). */
  blob: Blob | null;
  fileName: string;
}

interface RunsState {
  runs: RunRecord[];
  adapters: AdapterMeta[];
  metrics: Record<string, MetricPoint[]>;
  /** The run the worker trains, holds paused or is resuming, as of the last refresh (it cannot be deleted). */
  activeRunId: string | null;
  loaded: boolean;
  error: string | null;
  refresh(): Promise<void>;
  loadMetrics(runId: string): Promise<void>;
  setNotes(runId: string, notes: string): Promise<void>;
  removeRun(runId: string): Promise<void>;
  removeAdapter(id: string): Promise<void>;
  exportZip(id: string, format?: 'peft' | 'gguf'): Promise<{ fileName: string; bytes: Uint8Array } | null>;
  /** A completed run as an Axolotl or TRL recipe (zip), or null with the error set. */
  exportRecipe(runId: string, target: RecipeTarget, gpus: number): Promise<{ fileName: string; bytes: Uint8Array } | null>;
  importAdapter(files: NamedBytes[], name: string, loaded: { id: string; hubId?: string; config: unknown } | null): Promise<boolean>;
  /** The merged export in progress (one at a time). */
  exporting: ExportProgress | null;
  /** The last finished export's message. */
  exported: string | null;
  /** Writes a stored adapter's PEFT files into `<folder>/<adapter name>/`. */
  savePeftToFolder(id: string, folder: PickedFolder): Promise<void>;
  /** Base + adapter merged, streamed from the worker into `folder` (or assembled for a download when null). */
  /** `ggufType`: the merged GGUF's weights (default F32). */
  exportMerged(id: string, format: MergedFormat, folder: PickedFolder | null, ggufType?: MergedGgufType): Promise<ExportResult | null>;
  cancelExport(): void;
}

export const useRuns = create<RunsState>((set, get) => ({
  runs: [],
  adapters: [],
  metrics: {},
  activeRunId: null,
  loaded: false,
  error: null,
  exporting: null,
  exported: null,
  async refresh() {
    try {
      const active = await trainer().activeRunId();
      const [runs, adapters] = await Promise.all([listRuns(active), listAdapters()]);
      set({ runs, adapters, activeRunId: active, loaded: true });
    } catch (e) {
      set({ error: errorMessage(e), loaded: true });
    }
  },
  async loadMetrics(runId) {
    const pts = await getMetrics(runId);
    set({ metrics: { ...get().metrics, [runId]: pts } });
  },
  async setNotes(runId, notes) {
    try {
      await trainer().setRunNotes(runId, notes);
      set({ runs: get().runs.map((r) => (r.id === runId ? { ...r, notes } : r)) });
    } catch (e) {
      set({ error: errorMessage(e) });
    }
  },
  async removeRun(runId) {
    set({ error: null });
    try {
      await trainer().deleteRun(runId);
    } catch (e) {
      set({ error: errorMessage(e) });
    }
    await get().refresh();
  },
  async removeAdapter(id) {
    set({ error: null });
    try {
      await trainer().deleteAdapter(id);
    } catch (e) {
      set({ error: errorMessage(e) });
    }
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
  async exportRecipe(runId, target, gpus) {
    set({ error: null });
    try {
      return await trainer().exportRecipe(runId, target, gpus);
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
  async savePeftToFolder(id, folder) {
    set({ error: null, exported: null });
    try {
      const { folder: sub, files } = await trainer().peftFiles(id);
      const dir = await folder.getDirectoryHandle(sub, { create: true });
      const t = folderTarget(dir);
      try {
        for (const f of files) await t.write(f.name, f.bytes);
        await t.finish();
      } catch (e) {
        await t.abort();
        throw e;
      }
      set({ exported: `Saved ${files.map((f) => f.name).join(', ')} into ${folder.name}/${sub}/.` });
    } catch (e) {
      set({ error: errorMessage(e) });
    }
  },
  async exportMerged(id, format, folder, ggufType) {
    if (get().exporting) return null;
    const to = folder ? 'folder' : 'download';
    set({ error: null, exported: null, exporting: { adapterId: id, format, to, plan: null, file: null, bytesDone: 0, cancelling: false } });
    let target: ExportTarget | null = null;
    try {
      const plan = await trainer().planMergedExport(id, format, ggufType);
      const progress = (p: Partial<ExportProgress>) => {
        const cur = get().exporting;
        if (cur) set({ exporting: { ...cur, ...p } });
      };
      progress({ plan });
      if (get().exporting?.cancelling) throw new Error('Cancelled');
      let where: string;
      let fileName: string;
      if (folder) {
        // The HF folder goes into its own subfolder; a GGUF is one file in the picked folder.
        const dir = format === 'merged' ? await folder.getDirectoryHandle(plan.name, { create: true }) : folder;
        const files = folderTarget(dir);
        target =
          format === 'merged'
            ? { ...files, abort: async () => (await files.abort(), await folder.removeEntry(plan.name, { recursive: true }).catch(() => undefined)) }
            : files;
        where = format === 'merged' ? `${folder.name}/${plan.name}/` : `${folder.name}/${plan.files[0].name}`;
        fileName = plan.name;
      } else {
        target = format === 'merged' ? zipBlobTarget(plan.name) : singleFileBlobTarget();
        fileName = format === 'merged' ? `${plan.name}.zip` : plan.files[0].name;
        where = fileName;
      }
      const t = target;
      let done = 0;
      let last = 0;
      await trainer().streamMergedExport(
        EXPORT_JOB,
        id,
        format,
        callback(async (file: string, chunk: Uint8Array) => {
          await t.write(file, chunk);
          done += chunk.byteLength;
          // Progress a few times a second at most, not per chunk.
          const now = performance.now();
          if (now - last > 200 || get().exporting?.file !== file) {
            last = now;
            progress({ file, bytesDone: done });
          }
        }),
        ggufType,
      );
      const blob = await t.finish();
      target = null;
      set({ exporting: null, exported: folder ? `Saved the merged ${format === 'merged' ? 'model' : 'GGUF'} into ${where}.` : `Merged ${format === 'merged' ? 'model' : 'GGUF'} ready: ${fileName}.` });
      return { where, blob, fileName };
    } catch (e) {
      await target?.abort();
      const cancelled = get().exporting?.cancelling || /cancel/i.test(errorMessage(e));
      set({ exporting: null, error: cancelled ? null : errorMessage(e), exported: cancelled ? 'Export cancelled; nothing was kept.' : null });
      return null;
    }
  },
  cancelExport() {
    const cur = get().exporting;
    if (!cur) return;
    set({ exporting: { ...cur, cancelling: true } });
    void trainer().cancel(EXPORT_JOB);
  },
}));
