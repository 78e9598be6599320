// The chosen base model and the memory estimate for it with the current training settings.
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import { callback, errorMessage, trainer, type CachedModel, type DownloadProgress, type MemoryReport } from '../worker/client';
import { DEFAULT_MODEL_ID, MODEL_PRESETS, defaultHubId } from '../worker/presets';
import type { MemorySettings, WeightsFlag } from '../worker/settings';
import type { ModelRef } from '../persist/records';
import { HUB_TOKEN_KEY, deleteSecret, getSecret, setSecret } from '../persist/secrets';

const JOB = 'model';

interface ModelState {
  model: ModelRef;
  /** config.json of the chosen model when known (presets, or a loaded local folder). */
  config: Record<string, unknown> | null;
  /** The base weight format runs train with (the CLI's --weights): 'auto' takes the most precise whose plan fits this GPU. */
  weights: WeightsFlag;
  memory: MemoryReport | null;
  memoryError: string | null;
  cached: CachedModel[];
  /** Whether `cached` has been read from the worker at least once (so an empty list means something). */
  cacheChecked: boolean;
  progress: DownloadProgress | null;
  busy: boolean;
  error: string | null;
  /** Hugging Face access token for gated/private models: in memory, or in IndexedDB when remembered (never in localStorage). */
  hubToken: string;
  rememberToken: boolean;
  setHubToken(token: string): void;
  setRememberToken(remember: boolean): Promise<void>;
  /** Loads a remembered token (once, at start). */
  loadHubToken(): Promise<void>;
  refreshCache(): Promise<void>;
  download(): Promise<void>;
  importFolder(files: File[]): Promise<void>;
  cancel(): void;
  removeCached(key: string): Promise<void>;
  choosePreset(id: string): void;
  chooseHubId(id: string): void;
  setWeights(w: WeightsFlag): void;
  chooseLocal(name: string, config: Record<string, unknown>): void;
  /** The Hugging Face id of the imported folder's model (named as the base model in exports). */
  setLocalHubId(hubId: string): void;
  estimate(s: MemorySettings): Promise<void>;
}

export const useModel = create<ModelState>()(
  persist(
    (set, get) => ({
      model: { id: DEFAULT_MODEL_ID, source: 'hub' },
      config: MODEL_PRESETS[0].config,
      weights: 'auto',
      memory: null,
      memoryError: null,
      cached: [],
      cacheChecked: false,
      progress: null,
      busy: false,
      error: null,
      hubToken: '',
      rememberToken: false,
      setHubToken(token) {
        set({ hubToken: token });
        if (get().rememberToken) void (token ? setSecret(HUB_TOKEN_KEY, token) : deleteSecret(HUB_TOKEN_KEY)).catch(() => undefined);
      },
      async setRememberToken(remember) {
        set({ rememberToken: remember });
        try {
          const token = get().hubToken;
          if (remember && token) await setSecret(HUB_TOKEN_KEY, token);
          if (!remember) await deleteSecret(HUB_TOKEN_KEY);
        } catch (e) {
          set({ error: `Could not ${remember ? 'store' : 'forget'} the access token on this device: ${errorMessage(e)}` });
        }
      },
      async loadHubToken() {
        try {
          const token = await getSecret(HUB_TOKEN_KEY);
          if (token && !get().hubToken) set({ hubToken: token, rememberToken: true });
        } catch {
          // No IndexedDB (private mode in some browsers): nothing was remembered.
        }
      },
      async refreshCache() {
        try {
          set({ cached: await trainer().listCachedModels(), cacheChecked: true });
        } catch (e) {
          set({ error: errorMessage(e) });
        }
      },
      async download() {
        // Refused before anything is fetched where no weight format can run the model on this GPU.
        const refusal = get().memory?.downloadRefusal;
        if (refusal) {
          set({ error: refusal });
          return;
        }
        set({ busy: true, error: null, progress: null });
        try {
          await trainer().downloadModel(JOB, get().model.id, get().hubToken || undefined, callback((p: DownloadProgress) => set({ progress: p })));
          await get().refreshCache();
        } catch (e) {
          set({ error: errorMessage(e) });
        } finally {
          set({ busy: false });
        }
      },
      async importFolder(files) {
        set({ busy: true, error: null, progress: null });
        try {
          const cfgFile = files.find((f) => f.name === 'config.json');
          const folder = files.find((f) => f.webkitRelativePath)?.webkitRelativePath.split('/')[0] || 'local model';
          // The worker checks and copies the folder into the cache, streaming file by file.
          const m = await trainer().importModelFolder(JOB, files, folder, callback((p: DownloadProgress) => set({ progress: p })));
          const config = cfgFile ? (JSON.parse(await cfgFile.text()) as Record<string, unknown>) : null;
          set({ model: { id: m.id, source: 'local', hubId: defaultHubId(config, m.id) }, config, memory: null });
          await get().refreshCache();
        } catch (e) {
          set({ error: errorMessage(e) });
        } finally {
          set({ busy: false });
        }
      },
      cancel() {
        void trainer().cancel(JOB);
      },
      async removeCached(key) {
        await trainer().deleteCachedModel(key);
        await get().refreshCache();
      },
      choosePreset(id) {
        const p = MODEL_PRESETS.find((x) => x.id === id);
        set({ model: { id, source: 'hub' }, config: p?.config ?? null, memory: null, memoryError: null });
      },
      chooseHubId(id) {
        const p = MODEL_PRESETS.find((x) => x.id === id);
        set({ model: { id, source: 'hub' }, config: p?.config ?? null, memory: null, memoryError: null });
      },
      chooseLocal(name, config) {
        set({ model: { id: name, source: 'local', hubId: defaultHubId(config, name) }, config, memory: null, memoryError: null });
      },
      setWeights(weights) {
        set({ weights });
      },
      setLocalHubId(hubId) {
        const model = get().model;
        if (model.source === 'local') set({ model: { ...model, hubId } });
      },
      async estimate(s) {
        const config = get().config;
        if (!config) {
          set({ memory: null, memoryError: 'The model’s config.json is not known until it is downloaded or loaded from a folder.' });
          return;
        }
        try {
          const { model } = get();
          const preset = model.source === 'hub' ? MODEL_PRESETS.find((p) => p.id === model.id) : undefined;
          set({ memory: await trainer().estimateMemory(config, s, get().weights, { storesTiedHead: preset?.storesTiedHead }), memoryError: null });
        } catch (e) {
          set({ memory: null, memoryError: errorMessage(e) });
        }
      },
    }),
    { name: 'lora-studio.model', partialize: (s) => ({ model: s.model, config: s.config, weights: s.weights }) },
  ),
);

