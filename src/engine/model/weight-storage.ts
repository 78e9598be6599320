// The weight formats the frozen base can be stored in (pure data, so the UI can list them
// through the worker API without pulling GPU code into its bundle).
export type WeightStorage = 'f32' | 'f16' | 'q8' | 'q4';
/** Most precise first: the order 'auto' tries them in. */
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['f32', 'f16', 'q8', 'q4'];
/**
 * The storage a GGUF tensor type amounts to (run records, recipes, a Hub GGUF file's class):
 * Q6_K counts as 8-bit (nearer to it than to 4-bit, and bitsandbytes has only the two).
 */
export const GGML_TYPE_STORAGE = { F32: 'f32', F16: 'f16', BF16: 'f16', Q8_0: 'q8', Q6_K: 'q8', Q4_0: 'q4', Q4_K: 'q4' } as const satisfies Record<string, WeightStorage>;
/** The GGUF tensor types the engine reads, for messages: "F32, F16, BF16, Q8_0, Q6_K, Q4_0, Q4_K". */
export const READ_GGML_TYPES = Object.keys(GGML_TYPE_STORAGE).join(', ');
/** A storage, or 'auto' (chooseWeightStorage decides): CLI --weights and the studio's Model screen. */
export type WeightsFlag = WeightStorage | 'auto';
