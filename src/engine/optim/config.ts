// Optimizer settings for LoRA training: AdamW (decoupled weight decay, torch semantics),
// global gradient-norm clipping, gradient accumulation and the learning-rate schedule.
import { type LrSchedule, validateSchedule } from './schedule';

export interface OptimConfig {
  schedule: LrSchedule;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled: p -= lr · weightDecay · p before the Adam update (torch.optim.AdamW). */
  weightDecay: number;
  /** Clip the global L2 norm of all LoRA gradients to this value; 0 disables clipping. */
  maxGradNorm: number;
  /** Micro-batches per optimizer step; the loss is the mean over all their targets. */
  gradAccumSteps: number;
}

/** HF TrainingArguments defaults, with a LoRA-typical learning rate. */
export function defaultOptimConfig(over: Partial<OptimConfig> = {}): OptimConfig {
  return {
    schedule: { kind: 'linear', lr: 2e-4, warmupSteps: 0, totalSteps: 1000 },
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0,
    maxGradNorm: 1,
    gradAccumSteps: 1,
    ...over,
  };
}

export function validateOptimConfig(c: OptimConfig): void {
  validateSchedule(c.schedule);
  const in01 = (x: number) => x >= 0 && x < 1;
  if (!in01(c.beta1) || !in01(c.beta2)) throw new Error(`AdamW betas must be in [0, 1), got ${c.beta1}, ${c.beta2}`);
  if (!(c.eps > 0)) throw new Error(`AdamW eps must be positive, got ${c.eps}`);
  if (!(c.weightDecay >= 0)) throw new Error(`weight decay must be >= 0, got ${c.weightDecay}`);
  if (!(c.maxGradNorm >= 0)) throw new Error(`maxGradNorm must be >= 0 (0 = no clipping), got ${c.maxGradNorm}`);
  if (!Number.isInteger(c.gradAccumSteps) || c.gradAccumSteps < 1) throw new Error(`gradAccumSteps must be a positive integer, got ${c.gradAccumSteps}`);
}
