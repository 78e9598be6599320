// The chosen base model and the memory estimate for it with the current training settings.
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import { callback, errorMessage, trainer, type CachedModel, type DownloadProgress, type HubGgufFile, type HubGgufHeader, type MemoryReport } from '../worker/client';
import { DEFAULT_MODEL_ID, HUB_ID, MODEL_PRESETS, defaultHubId } from '../worker/presets';
import { READ_GGML_TYPES, type MemorySettings, type WeightsFlag } from '../worker/settings';
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
  /** `settings`: the training settings the default GGUF pick is planned with (a GGUF repository only). */
  chooseHubId(id: string, settings?: MemorySettings): void;
  setWeights(w: WeightsFlag): void;
  chooseLocal(name: string, config: Record<string, unknown>): void;
  /** The Hugging Face id of the imported folder's model (named as the base model in exports). */
  setLocalHubId(hubId: string): void;
  estimate(s: MemorySettings): Promise<void>;
  /** The chosen Hub id when it is a GGUF repository: its files, the picked one (with its header) and the original model for the tokenizer. */
  hubGguf: HubGgufState | null;
  chooseGgufFile(file: string): Promise<void>;
  setTokenizerRepo(repo: string): void;
}

export interface HubGgufState {
  repo: string;
  files: HubGgufFile[];
  /** The original model the card's base_model names (prefills tokenizerRepo). */
  baseModel: string | null;
  file: string | null;
  header: HubGgufHeader | null;
  tokenizerRepo: string;
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
      hubGguf: null,
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
          const { model } = get();
          if (model.gguf && !HUB_ID.test(model.gguf.tokenizerRepo)) throw new Error('Give the original model’s Hugging Face id (owner/name) for the tokenizer files: a GGUF’s own tokenizer is not read.');
          await trainer().downloadModel(JOB, model.id, get().hubToken || undefined, callback((p: DownloadProgress) => set({ progress: p })), model.gguf);
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
          // A folder's name; for loose files (a .gguf with its tokenizer files) the worker names it after the .gguf.
          const folder = files.find((f) => f.webkitRelativePath)?.webkitRelativePath.split('/')[0] || undefined;
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
      chooseHubId(id, settings) {
        const p = MODEL_PRESETS.find((x) => x.id === id);
        set({ model: { id, source: 'hub' }, config: p?.config ?? null, memory: null, memoryError: null, hubGguf: null, error: null });
        if (!p && settings) void inspectHub(id, settings);
      },
      async chooseGgufFile(file) {
        const g = get().hubGguf;
        if (!g) return;
        set({ busy: true, error: null, hubGguf: { ...g, file, header: null } });
        try {
          // The header alone (Range requests): an unsupported architecture or tensor type is refused here, before the download.
          const header = await trainer().hubGgufHeader(g.repo, file, get().hubToken || undefined);
          if (get().hubGguf?.repo !== g.repo) return;
          set({ hubGguf: { ...get().hubGguf!, file, header }, config: header.config, memory: null, model: { id: g.repo, source: 'hub', gguf: { file, tokenizerRepo: get().hubGguf!.tokenizerRepo } } });
        } catch (e) {
          set({ error: errorMessage(e) });
        } finally {
          set({ busy: false });
        }
      },
      setTokenizerRepo(repo) {
        const g = get().hubGguf;
        const model = get().model;
        if (g) set({ hubGguf: { ...g, tokenizerRepo: repo } });
        if (model.gguf) set({ model: { ...model, gguf: { ...model.gguf, tokenizerRepo: repo } } });
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
          const header = model.gguf && get().hubGguf?.file === model.gguf.file ? get().hubGguf!.header : null;
          set({ memory: await trainer().estimateMemory(config, s, get().weights, { storesTiedHead: preset?.storesTiedHead, gguf: header ? { types: header.types, bytes: header.bytes } : undefined }), memoryError: null });
        } catch (e) {
          set({ memory: null, memoryError: errorMessage(e) });
        }
      },
    }),
    // hubGguf is kept with the chosen model: after a reload (offline too) the GGUF repo's file list,
    // the picked file's checked header (the memory plan's tensor types) and the tokenizer repo stay.
    { name: 'lora-studio.model', partialize: (s) => ({ model: s.model, config: s.config, weights: s.weights, hubGguf: s.hubGguf }) },
  ),
);


/**
 * A Hub id that is a GGUF repository lists its files; the default pick is the file of the storage
 * the one 'auto' rule chooses for this architecture (the memory estimate of the first file's config).
 */
async function inspectHub(id: string, settings: MemorySettings): Promise<void> {
  const { getState: get, setState: set } = useModel;
  try {
    const kind = await trainer().inspectHubModel(id, get().hubToken || undefined);
    if (kind.kind !== 'gguf' || get().model.id !== id) return;
    set({ hubGguf: { repo: id, files: kind.files, baseModel: kind.baseModel, file: null, header: null, tokenizerRepo: kind.baseModel ?? '' } });
    const first = kind.files.find((f) => f.storage !== null);
    if (!first) {
      set({ error: `${id} has no GGUF file of a type the studio reads (${READ_GGML_TYPES}): ${kind.files.map((f) => f.quant ?? f.name).join(', ')}.` });
      return;
    }
    const h = await trainer().hubGgufHeader(id, first.name, get().hubToken || undefined);
    const auto = await trainer().estimateMemory(h.config, settings, 'auto');
    const pick = (await trainer().defaultHubGguf(kind.files, auto.storage)) ?? first;
    if (get().model.id === id) await get().chooseGgufFile(pick.name);
  } catch (e) {
    if (get().model.id === id) set({ error: errorMessage(e) });
  }
}
