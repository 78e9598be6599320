// The data screen's state: the file being looked at, the worker's report on it, the user's
// choices (format, mapping, consent to exclude invalid rows) and the saved dataset id.
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import { callback, errorMessage, trainer, transfer, type DatasetReport, type ParseProgress, type ParseRequest, type TokenReport } from '../worker/client';
import type { ModelRef } from '../persist/records';
import type { LossMode } from '../worker/settings';

const JOB = 'dataset';

interface DatasetState {
  report: DatasetReport | null;
  progress: ParseProgress | null;
  busy: boolean;
  error: string | null;
  request: ParseRequest;
  excludeInvalid: boolean;
  removeDuplicates: boolean;
  /** The dataset saved for training (kept across reloads); pairs: it holds preference pairs (absent when saved by an older version). */
  saved: { id: string; name: string; examples: number; pairs?: boolean } | null;
  /** Why what the saved dataset holds could not be told (an older save whose file no longer reads). */
  savedKindError: string | null;
  tokens: TokenReport | null;
  tokenizing: { done: number; total: number } | null;
  tokenError: string | null;
  countTokens(model: ModelRef, seqLen: number, lossMode: LossMode): Promise<void>;
  loadFile(file: Blob & { name: string }): Promise<void>;
  loadUrl(url: string, name: string): Promise<void>;
  reparse(req: ParseRequest): Promise<void>;
  cancel(): void;
  setConsent(p: { excludeInvalid?: boolean; removeDuplicates?: boolean }): void;
  save(): Promise<void>;
  reopen(): Promise<void>;
  /** For a dataset saved by an older version: whether it holds pairs, from its stored file. */
  learnSavedKind(): Promise<void>;
}

export const useDataset = create<DatasetState>()(
  persist(
    (set, get) => {
      const parse = async (work: (onProgress: (p: ParseProgress) => void) => Promise<DatasetReport>) => {
        set({ busy: true, error: null, progress: null });
        try {
          const report = await work(callback((p: ParseProgress) => set({ progress: p })));
          set({ report, excludeInvalid: false, tokens: null, tokenError: null });
        } catch (e) {
          set({ error: errorMessage(e) });
        } finally {
          set({ busy: false });
        }
      };
      return {
        report: null,
        progress: null,
        busy: false,
        error: null,
        request: {},
        excludeInvalid: false,
        removeDuplicates: true,
        saved: null,
        savedKindError: null,
        tokens: null,
        tokenizing: null,
        tokenError: null,
        async countTokens(model, seqLen, lossMode) {
          set({ tokenizing: { done: 0, total: get().report?.exampleCount ?? 0 }, tokenError: null });
          try {
            const tokens = await trainer().tokenStats('tokens', model, seqLen, lossMode, callback((p: { done: number; total: number }) => set({ tokenizing: p })));
            set({ tokens });
          } catch (e) {
            set({ tokenError: errorMessage(e) });
          } finally {
            set({ tokenizing: null });
          }
        },
        async loadFile(file) {
          const bytes = await file.arrayBuffer();
          set({ request: {}, saved: null });
          // Transferred, not copied: the worker keeps the only copy.
          await parse((onProgress) => trainer().parseDataset(JOB, file.name, transfer(bytes, [bytes]), {}, onProgress));
        },
        async loadUrl(url, name) {
          set({ busy: true, error: null });
          let bytes: ArrayBuffer;
          try {
            const res = await fetch(url);
            if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
            bytes = await res.arrayBuffer();
          } catch (e) {
            set({ busy: false, error: errorMessage(e) });
            return;
          }
          set({ request: {}, saved: null });
          await parse((onProgress) => trainer().parseDataset(JOB, name, transfer(bytes, [bytes]), {}, onProgress));
        },
        async reparse(req) {
          set({ request: req, saved: null });
          await parse((onProgress) => trainer().reparseDataset(JOB, req, onProgress));
        },
        cancel() {
          void trainer().cancel(JOB);
        },
        setConsent(p) {
          set({ ...p, saved: null });
        },
        async save() {
          const { excludeInvalid, removeDuplicates, report } = get();
          set({ error: null });
          try {
            const r = await trainer().saveDataset({ excludeInvalid, removeDuplicates });
            set({ saved: { id: r.id, name: report?.fileName ?? 'dataset', examples: r.examples, pairs: r.pairs } });
          } catch (e) {
            set({ error: errorMessage(e) });
          }
        },
        async reopen() {
          const s = get().saved;
          if (!s || get().report) return;
          await parse(() => trainer().openSavedDataset(JOB, s.id));
          set({ saved: s });
        },
        async learnSavedKind() {
          const s = get().saved;
          if (!s || s.pairs !== undefined) return;
          set({ savedKindError: null });
          try {
            const { pairs } = await trainer().savedDatasetKind(s.id);
            // Unless another dataset was saved meanwhile: it then is the one to train on.
            if (get().saved?.id === s.id) set({ saved: { ...s, pairs } });
          } catch (e) {
            if (get().saved?.id === s.id) set({ savedKindError: `Could not tell whether “${s.name}” holds preference pairs (${errorMessage(e)}): re-save this dataset on the Data screen to use it for preference tuning.` });
          }
        },
      };
    },
    { name: 'lora-studio.dataset', partialize: (s) => ({ saved: s.saved, removeDuplicates: s.removeDuplicates }) },
  ),
);
