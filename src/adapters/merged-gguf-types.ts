// The weight types a merged GGUF export offers, in a module of its own (no code imported) so the
// Runs screen can list them without bundling the exporters.
import type { GgufWeightType } from './gguf';

/** The merged-gguf weight types offered (llama.cpp's common choices); norms and biases stay F32. */
export const MERGED_GGUF_TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K_M'] as const satisfies readonly GgufWeightType[];
export type MergedGgufType = (typeof MERGED_GGUF_TYPES)[number];
