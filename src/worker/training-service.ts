// Training and generation in the worker. Both need R's LoraTrainer (src/train) and the GPU
// model (src/engine/model/llama.ts); until they land every call reports "engine not ready"
// and nothing is written, so the UI never shows a number that was not measured.
import { EngineNotReadyError, notReady, type Readiness } from './engine-status';
import type { GenerateRequest, RunEvent, StartRunRequest } from './run-types';

export const trainingReadiness: Readiness = notReady('the LoRA trainer (src/train) has not landed in this build yet.');
export const generationReadiness: Readiness = notReady('generation (src/engine/model/generate.ts) has not landed in this build yet.');

const activeRunId: string | null = null;

export function currentRunId(): string | null {
  return activeRunId;
}

export async function startRun(_req: StartRunRequest, _onEvent: (e: RunEvent) => void): Promise<string> {
  throw new EngineNotReadyError(`Engine not ready — training: ${(trainingReadiness as { reason: string }).reason}`);
}

export async function resumeRun(_runId: string, _onEvent: (e: RunEvent) => void): Promise<void> {
  throw new EngineNotReadyError(`Engine not ready — training: ${(trainingReadiness as { reason: string }).reason}`);
}

export function pauseRun(): boolean {
  return false;
}

export function stopRun(): boolean {
  return false;
}

export async function generate(_req: GenerateRequest, _onToken: (text: string) => void): Promise<{ text: string; tokens: number; ms: number }> {
  throw new EngineNotReadyError(`Engine not ready — generation: ${(generationReadiness as { reason: string }).reason}`);
}
