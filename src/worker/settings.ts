// The settings declaration (train/settings, train/seq-len: pure data) as part of the worker's
// API surface: ui/ and store/ show, validate and send settings through here, as they reach the
// client (WORKER_API in eslint.config.js), and never name train/ itself.
export * from '../train/settings';
export * from '../train/seq-len';

// The recipe targets (train/recipe/mapping) the Runs screen offers for "Export as recipe".
export { RECIPE_TARGETS, type RecipeTarget } from '../train/recipe/mapping';

// The weight types a merged GGUF export offers (the CLI's --gguf-type).
export { MERGED_GGUF_TYPES, type MergedGgufType } from '../adapters/merged-gguf-types';

// The base weight formats the Model screen offers (the CLI's --weights).
export { READ_GGML_TYPES, WEIGHT_STORAGES, type WeightStorage, type WeightsFlag } from '../engine/model/weight-storage';
