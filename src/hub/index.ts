// The hub module's public surface: download from the Hugging Face Hub, the model cache, local
// folders, and reading a model's files (for the tokenizer and the safetensors reader).
export { HubError, isHubError, formatBytes, type HubErrorCode } from './errors';
export { type DownloadProgress, type DownloadPhase, SpeedMeter } from './progress';
export { type ModelStore, type FileWriter, type StorageEstimate, MemoryStore } from './store';
export { OpfsStore } from './opfs-store';
export { DEFAULT_HUB_URL, isRepoId, resolveUrl } from './http';
export { downloadModel, type DownloadOptions, type DownloadResult, type HubGgufChoice } from './download';
export { inspectHubRepo, readHubGgufHeader, fetchTokenizerFiles, defaultGgufFile, type HubGgufFile, type HubGgufHeader, type HubRepoKind } from './gguf-repo';
export {
  listCachedModels,
  listPartialDownloads,
  deleteCachedModel,
  openCachedModel,
  cacheSize,
  hubCacheKey,
  hubGgufCacheKey,
  localCacheKey,
  type CachedModel,
  type CachedFile,
  type PartialDownload,
  type CacheManifest,
} from './cache';
export { openLocalModel, importLocalModel, folderName, type LocalFile, type LocalModel, type ImportOptions } from './local';
export {
  openModelWeights,
  readModelMetadata,
  readJsonFile,
  checkArchitecture,
  gpuFitProblem,
  SUPPORTED_MODEL_TYPES,
  type ModelFiles,
  type ModelMetadata,
  type GpuLimitsForFit,
  type GpuFitOptions,
} from './model-files';
