// Learning-rate schedules with linear warmup, computed on the CPU once per optimizer step
// and passed to the AdamW kernel. The formulas are Hugging Face transformers' (get_*_schedule_
// with_warmup), so a run here and a run with the HF Trainer see the same learning rates.

export type LrScheduleKind = 'constant' | 'linear' | 'cosine';

export interface LrSchedule {
  kind: LrScheduleKind;
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Optimizer steps of linear warmup from 0 to lr (0 = none). */
  warmupSteps: number;
  /** Total optimizer steps of the run (decay reaches its floor here); ignored by 'constant'. */
  totalSteps: number;
  /** Floor of the linear/cosine decay as a fraction of lr (HF: 0; cosine_with_min_lr sets it). */
  minLrRatio?: number;
}

/**
 * Learning rate for the optimizer step that follows `step` completed steps (step = 0 for the
 * first update), as HF's LambdaLR does: warmup multiplier step / warmupSteps, so the very first
 * update of a warmup run has lr 0 exactly like the HF Trainer.
 */
export function learningRate(s: LrSchedule, step: number): number {
  if (!Number.isInteger(step) || step < 0) throw new Error(`learningRate: step ${step} must be a non-negative integer`);
  if (step < s.warmupSteps) return (s.lr * step) / Math.max(1, s.warmupSteps);
  if (s.kind === 'constant') return s.lr;
  const floor = s.minLrRatio ?? 0;
  const progress = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps));
  const factor = s.kind === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  return s.lr * (floor + (1 - floor) * Math.max(0, factor));
}

export function validateSchedule(s: LrSchedule): void {
  if (!(s.lr > 0) || !Number.isFinite(s.lr)) throw new Error(`learning rate must be a positive number, got ${s.lr}`);
  if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0) throw new Error(`warmupSteps must be a non-negative integer, got ${s.warmupSteps}`);
  if (s.kind !== 'constant' && (!Number.isInteger(s.totalSteps) || s.totalSteps < 1)) throw new Error(`totalSteps must be a positive integer, got ${s.totalSteps}`);
  const f = s.minLrRatio ?? 0;
  if (!(f >= 0 && f <= 1)) throw new Error(`minLrRatio must be in [0, 1], got ${f}`);
  if (!['constant', 'linear', 'cosine'].includes(s.kind)) throw new Error(`unknown LR schedule ${String(s.kind)} (constant, linear, cosine)`);
}
