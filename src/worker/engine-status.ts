// Which parts of the engine the worker can run in this build. A part that has not landed
// says so plainly: the UI shows the reason instead of pretending (no fake numbers).

export type Readiness = { ready: true } | { ready: false; reason: string };

export interface EngineStatus {
  /** Parse and validate dataset files. */
  dataset: Readiness;
  /** Tokenize with a model's chat template and loss mask (token statistics, preview). */
  tokenize: Readiness;
  /** Download models from the Hub, list the cache, import local folders. */
  models: Readiness;
  /** Train a LoRA (LoraTrainer). */
  training: Readiness;
  /** Generate text with the base model and with an adapter. */
  generation: Readiness;
  /** Export adapters (PEFT zip) and import them. */
  adapters: Readiness;
  /** Export GGUF LoRA for llama.cpp / Ollama. */
  gguf: Readiness;
}

export class EngineNotReadyError extends Error {
  override name = 'EngineNotReadyError';
}

export const READY: Readiness = { ready: true };

export function notReady(reason: string): Readiness {
  return { ready: false, reason };
}

/** Throws EngineNotReadyError when a part is not ready. */
export function requireReady(what: string, r: Readiness): void {
  if (!r.ready) throw new EngineNotReadyError(`Engine not ready — ${what}: ${r.reason}`);
}
