// The chosen base model and the memory estimate for it with the current training settings.
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import { errorMessage, trainer, type MemoryReport } from '../worker/client';
import { DEFAULT_MODEL_ID, MODEL_PRESETS } from '../worker/presets';
import type { TrainSettings } from '../worker/settings';
import type { ModelRef } from '../persist/records';

interface ModelState {
  model: ModelRef;
  /** config.json of the chosen model when known (presets, or a loaded local folder). */
  config: Record<string, unknown> | null;
  memory: MemoryReport | null;
  memoryError: string | null;
  choosePreset(id: string): void;
  chooseHubId(id: string): void;
  chooseLocal(name: string, config: Record<string, unknown>): void;
  estimate(s: Pick<TrainSettings, 'rank' | 'targets' | 'batchSize' | 'seqLen'>): Promise<void>;
}

export const useModel = create<ModelState>()(
  persist(
    (set, get) => ({
      model: { id: DEFAULT_MODEL_ID, source: 'hub' },
      config: MODEL_PRESETS[0].config,
      memory: null,
      memoryError: null,
      choosePreset(id) {
        const p = MODEL_PRESETS.find((x) => x.id === id);
        set({ model: { id, source: 'hub' }, config: p?.config ?? null, memory: null, memoryError: null });
      },
      chooseHubId(id) {
        const p = MODEL_PRESETS.find((x) => x.id === id);
        set({ model: { id, source: 'hub' }, config: p?.config ?? null, memory: null, memoryError: null });
      },
      chooseLocal(name, config) {
        set({ model: { id: name, source: 'local' }, config, memory: null, memoryError: null });
      },
      async estimate(s) {
        const config = get().config;
        if (!config) {
          set({ memory: null, memoryError: 'The model’s config.json is not known until it is downloaded or loaded from a folder.' });
          return;
        }
        try {
          set({ memory: await trainer().estimateMemory(config, s), memoryError: null });
        } catch (e) {
          set({ memory: null, memoryError: errorMessage(e) });
        }
      },
    }),
    { name: 'lora-studio.model', partialize: (s) => ({ model: s.model, config: s.config }) },
  ),
);
