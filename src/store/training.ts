// The train screen: settings (kept across reloads) and the live state of the run in the
// worker, fed by small events. Curves live in persist/ too; the store holds what is drawn.
import { useMemo } from 'react';
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import { callback, errorMessage, trainer, type RunEvent, type StartRunRequest } from '../worker/client';
import { DEFAULT_SETTINGS, PRESETS, adviseSeqLen, maxPositionsOf, objectiveForData, objectiveName, withDefaults, type PresetId, type SeqLenAdvice, type TrainSettings } from '../worker/settings';
import { useDataset } from './dataset';
import { useModel } from './model';
import type { MetricPoint, ModelRef, RunStatus } from '../persist/records';
import { getMetrics } from '../persist/repo';

export interface LiveRun {
  runId: string;
  status: RunStatus;
  step: number;
  totalSteps: number;
  startedAt: number;
  message?: string;
  points: MetricPoint[];
  samples: { step: number; prompt: string; output: string; error?: string }[];
  deviceLost: boolean;
}

/**
 * The live run after one event from the worker (pure: the store's reducer). Events of another
 * run are ignored unless they announce it (a status event starts following that run).
 */
export function applyRunEvent(live: LiveRun | null, e: RunEvent, now: number): LiveRun | null {
  if (!live || live.runId !== e.runId) {
    if (e.type !== 'status') return live;
    return { runId: e.runId, status: e.status, step: e.step, totalSteps: e.totalSteps, startedAt: now, message: e.message, points: [], samples: [], deviceLost: false };
  }
  switch (e.type) {
    case 'status':
      // Running again (resumed on a new device): the loss notice no longer applies.
      return { ...live, status: e.status, step: e.step, totalSteps: e.totalSteps, message: e.message, deviceLost: e.status === 'running' ? false : live.deviceLost };
    case 'metrics':
      // A progress note ("compiling the GPU kernels…") is over once steps are measured.
      return { ...live, points: [...live.points, ...e.points], step: Math.max(live.step, ...e.points.map((p) => p.step)), message: live.status === 'running' ? undefined : live.message };
    case 'sample':
      return { ...live, samples: [...live.samples, { step: e.step, prompt: e.prompt, output: e.output, error: e.error }] };
    case 'checkpoint':
      return live;
    case 'device-lost':
      return { ...live, status: 'interrupted', deviceLost: true, message: e.message };
  }
}

interface TrainState {
  settings: TrainSettings;
  preset: PresetId | 'custom';
  samplePrompts: string;
  live: LiveRun | null;
  error: string | null;
  starting: boolean;
  /** Optimizer steps the run would take, from the worker's session plan (null: not asked yet / asking). */
  planned: { steps: number } | { error: string } | null;
  plan(datasetId: string, model: ModelRef): Promise<void>;
  applyPreset(id: PresetId): void;
  /** When a model is chosen: a sequence length it cannot take goes back to the default for that model. */
  fitSeqLenToModel(maxPositions: number | null): void;
  /** Why the objective was switched to fit the chosen dataset (null: it was not, or the user has chosen since). */
  objectiveNote: string | null;
  /** When a dataset is chosen (pairs unknown: undefined): an objective that cannot train it becomes DPO for pairs, SFT for single answers. */
  fitObjectiveToData(pairs: boolean | undefined): void;
  set<K extends keyof TrainSettings>(key: K, value: TrainSettings[K]): void;
  setSamplePrompts(s: string): void;
  start(req: Omit<StartRunRequest, 'settings' | 'samplePrompts' | 'weights'>): Promise<void>;
  resume(runId: string): Promise<void>;
  pause(): Promise<void>;
  stop(): Promise<void>;
}

export const useTrain = create<TrainState>()(
  persist(
    (set, get) => {
      const onEvent = (e: RunEvent) => {
        const before = get().live;
        const next = applyRunEvent(before, e, Date.now());
        if (next === before) return;
        set({ live: next });
        // Following a resumed run: its curve so far comes from IndexedDB.
        if (next && next.runId !== before?.runId) {
          void getMetrics(next.runId).then((stored) => {
            const cur = get().live;
            if (!cur || cur.runId !== next.runId) return;
            const first = cur.points[0]?.step ?? Infinity;
            set({ live: { ...cur, points: [...stored.filter((p) => p.step < first).sort((a, b) => a.step - b.step), ...cur.points] } });
          });
        }
      };
      const events = callback(onEvent);
      let planAsk = 0;
      return {
        settings: DEFAULT_SETTINGS,
        preset: 'balanced',
        samplePrompts: '',
        live: null,
        error: null,
        starting: false,
        planned: null,
        objectiveNote: null,
        async plan(datasetId, model) {
          // Only the newest question's answer is shown (settings change faster than plans come back).
          const ask = ++planAsk;
          set({ planned: null });
          try {
            const steps = await trainer().planSteps(datasetId, model, get().settings);
            if (ask === planAsk) set({ planned: { steps } });
          } catch (e) {
            if (ask === planAsk) set({ planned: { error: errorMessage(e) } });
          }
        },
        applyPreset(id) {
          const p = PRESETS[id].settings;
          // A preset's length, capped by the chosen model (its default for that model).
          const maxPositions = maxPositionsOf(useModel.getState().config);
          set({ settings: { ...p, seqLen: maxPositions === null ? p.seqLen : Math.min(p.seqLen, maxPositions) }, preset: id });
          // A preset is about size and pace: the objective keeps following the data.
          get().fitObjectiveToData(useDataset.getState().saved?.pairs);
        },
        fitSeqLenToModel(maxPositions) {
          const s = get().settings;
          if (maxPositions !== null && s.seqLen > maxPositions) set({ settings: { ...s, seqLen: adviseSeqLen(s.seqLen, maxPositions).suggested } });
        },
        fitObjectiveToData(pairs) {
          const s = get().settings;
          const to = pairs === undefined ? null : objectiveForData(pairs, s.objective);
          if (!to) return;
          set({ settings: { ...s, objective: to }, objectiveNote: `Objective set to ${objectiveName(to)}: the dataset holds ${pairs ? 'preference pairs' : 'one answer per example'}.` });
        },
        set(key, value) {
          set({ settings: { ...get().settings, [key]: value }, preset: 'custom', ...(key === 'objective' && { objectiveNote: null }) });
        },
        setSamplePrompts(s) {
          set({ samplePrompts: s });
        },
        async start(req) {
          set({ starting: true, error: null });
          try {
            const prompts = get().samplePrompts.split('\n').map((s) => s.trim()).filter(Boolean);
            await trainer().startRun({ ...req, settings: get().settings, weights: useModel.getState().weights, samplePrompts: prompts }, events);
          } catch (e) {
            // Setting up failed (nothing was trained): the half-shown run is not running.
            const live = get().live;
            set({ error: errorMessage(e), live: live && live.status === 'running' ? { ...live, status: 'failed', message: undefined } : live });
          } finally {
            set({ starting: false });
          }
        },
        async resume(runId) {
          set({ starting: true, error: null });
          try {
            await trainer().resumeRun(runId, events);
          } catch (e) {
            const live = get().live;
            set({ error: errorMessage(e), live: live && live.status === 'running' ? { ...live, status: 'failed', message: undefined } : live });
          } finally {
            set({ starting: false });
          }
        },
        async pause() {
          await trainer().pauseRun();
        },
        async stop() {
          await trainer().stopRun();
        },
      };
    },
    {
      name: 'lora-studio.train',
      partialize: (s) => ({ settings: s.settings, preset: s.preset, samplePrompts: s.samplePrompts }),
      // Settings saved by an older version lack newer fields (e.g. lossMode): fill in defaults.
      merge: (persisted, current) => {
        const p = (persisted ?? {}) as Partial<TrainState>;
        return { ...current, ...p, settings: withDefaults(p.settings) };
      },
    },
  ),
);

// Choosing a model (or its config arriving after a download) fits the sequence length to it.
useModel.subscribe((m, prev) => {
  if (m.config !== prev.config) useTrain.getState().fitSeqLenToModel(maxPositionsOf(m.config));
});

// Choosing a dataset (saving one, or learning what an older saved one holds) fits the objective to it;
// so does a page load, for a dataset and objective kept from an earlier visit.
useDataset.subscribe((d, prev) => {
  if (d.saved !== prev.saved) useTrain.getState().fitObjectiveToData(d.saved?.pairs);
});
useTrain.getState().fitObjectiveToData(useDataset.getState().saved?.pairs);

/** The sequence length against the chosen model: its default, the length token counts use, and why a setting is refused. */
export function useSeqLen(): SeqLenAdvice {
  const seqLen = useTrain((s) => s.settings.seqLen);
  const config = useModel((s) => s.config);
  const maxPositions = useMemo(() => maxPositionsOf(config), [config]);
  return useMemo(() => adviseSeqLen(seqLen, maxPositions), [seqLen, maxPositions]);
}
