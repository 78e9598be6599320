// Held-out evaluations: the one in progress (it runs in the worker; this store outlives the
// screens, so leaving the Evaluate screen and coming back shows it still going) and the stored
// ones per run, read from IndexedDB. The prompted baseline (system prompt and written few-shot
// examples) is kept here too: the Playground and the Evaluate screen edit the same one, so what
// an evaluation scores is the prompt the user tried by hand.
import { create } from 'zustand';
import { listDatasets, listEvaluations } from '../persist/repo';
import type { DatasetRecord, EvaluationRecord } from '../persist/records';
import { callback, errorMessage, trainer, type BaselinePrompt, type EvaluateProgress, type EvaluateRequest } from '../worker/client';

const JOB = 'evaluation';

/** The Evaluate screen's choices (besides the shared baseline prompt and the run). */
export interface EvaluateForm {
  /** 'validation' or a saved dataset's id. */
  source: string;
  /** Other adapters of the same base. */
  others: string[];
  /** Metrics chosen from the references, else `picked`. */
  auto: boolean;
  picked: string[];
  regex: string;
  contains: string;
  maxNewTokens: number;
  /** Examples drawn from the training rows. */
  shots: number;
  seed: number;
  withLoss: boolean;
}

interface EvaluationState extends BaselinePrompt {
  /** Kept here, not in the screen, so a trip to another screen while an evaluation runs loses none of them. */
  form: EvaluateForm;
  setForm(patch: Partial<EvaluateForm>): void;
  setSystemPrompt(s: string): void;
  setFewShotText(s: string): void;
  running: { runId: string; progress: EvaluateProgress | null; cancelling: boolean } | null;
  error: string | null;
  /** Stored evaluations by run id, newest first. */
  byRun: Record<string, EvaluationRecord[]>;
  load(runId: string): Promise<void>;
  /** Saved datasets, for an evaluation set other than the run's validation split. */
  datasets: Omit<DatasetRecord, 'bytes'>[];
  loadDatasets(): Promise<void>;
  start(req: EvaluateRequest): Promise<EvaluationRecord | null>;
  cancel(): void;
}

export const useEvaluation = create<EvaluationState>((set, get) => ({
  systemPrompt: '',
  setSystemPrompt: (systemPrompt) => set({ systemPrompt }),
  fewShotText: '',
  setFewShotText: (fewShotText) => set({ fewShotText }),
  form: { source: 'validation', others: [], auto: true, picked: [], regex: '', contains: '', maxNewTokens: 64, shots: 3, seed: 0, withLoss: true },
  setForm: (patch) => set({ form: { ...get().form, ...patch } }),
  running: null,
  error: null,
  byRun: {},
  datasets: [],
  async loadDatasets() {
    set({ datasets: await listDatasets() });
  },
  async load(runId) {
    try {
      const list = await listEvaluations(runId);
      set({ byRun: { ...get().byRun, [runId]: list } });
    } catch (e) {
      set({ error: errorMessage(e) });
    }
  },
  async start(req) {
    if (get().running) return null;
    set({ running: { runId: req.runId, progress: null, cancelling: false }, error: null });
    try {
      const rec = await trainer().evaluateRun(
        JOB,
        req,
        callback((progress: EvaluateProgress) => {
          const cur = get().running;
          if (cur) set({ running: { ...cur, progress } });
        }),
      );
      set({ running: null, byRun: { ...get().byRun, [req.runId]: [rec, ...(get().byRun[req.runId] ?? [])] } });
      return rec;
    } catch (e) {
      const cancelled = get().running?.cancelling === true;
      set({ running: null, error: cancelled ? null : errorMessage(e) });
      return null;
    }
  },
  cancel() {
    const cur = get().running;
    if (!cur) return;
    set({ running: { ...cur, cancelling: true } });
    void trainer().cancel(JOB);
  },
}));
