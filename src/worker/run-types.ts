// Messages between the worker's training loop and the UI. Small objects only: curves are
// sent as new points, never whole histories.
import type { MetricPoint, ModelRef, RunStatus } from '../persist/records';
import type { TrainSettings, WeightsFlag } from './settings';
import type { BaselinePrompt } from '../eval';

export interface StartRunRequest {
  name: string;
  datasetId: string;
  model: ModelRef;
  settings: TrainSettings;
  /** Base weight format (the Model screen's choice); 'auto' when absent. */
  weights?: WeightsFlag;
  /** Held-out prompts to generate on every `sampleEvery` steps. */
  samplePrompts: string[];
}

export type RunEvent =
  | { type: 'status'; runId: string; status: RunStatus; step: number; totalSteps: number; message?: string }
  | { type: 'metrics'; runId: string; points: MetricPoint[] }
  | { type: 'sample'; runId: string; step: number; prompt: string; output: string; error?: string }
  | { type: 'checkpoint'; runId: string; step: number }
  | { type: 'device-lost'; runId: string; message: string };

export interface GenerateRequest {
  model: ModelRef;
  /** Adapter to apply, or null for the base model. */
  adapterId: string | null;
  /** Scale multiplier on the adapter's alpha/r (1 = as trained). */
  adapterScale: number;
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  /**
   * Answer as the prompted baseline: the messages come after its system prompt and written
   * examples, composed as the evaluation composes them (eval/compare), so the Playground shows
   * the baseline the Evaluate screen scores.
   */
  baseline?: BaselinePrompt;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}
