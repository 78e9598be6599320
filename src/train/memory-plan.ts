// The GPU memory a training run allocates, computed by the same sizing functions the run
// allocates with: base weights (plannedWeightBytes, as uploadWeights stores them), the LoRA's
// four flat buffers (planLoraLayout), the activation arena at the recompute level the trainer
// itself would pick (planTrainingActivations with the trainer's graph options), the trainer's
// own small buffers and the RoPE table. "Will it fit?", the advisor and `inspect` show this
// figure; memory-plan.gpu.test.ts holds it to the peak GpuContext counts in a real step.
import { allocationSize } from '../engine/gpu/context';
import { ropeInvFreq } from '../engine/gpu/kernels/rope';
import { type ActivationKind, type RecomputeLevel, activationBreakdown } from '../engine/model/arena';
import { type LinearModule, type ModelConfig, parameterCount } from '../engine/model/config';
import { type GraphOptions, planTrainingActivations } from '../engine/model/llama';
import { planLoraLayout } from '../engine/model/lora-params';
import { AUTO_BUDGET_BYTES, checkWeightBuffers, largestWeightTensorBytes, plannedWeightBytes, type KeptTensors, type WeightFit, type WeightStorage } from '../engine/model/weights';
import { batchRows, isPreferenceObjective, type MemorySettings } from './settings';
import { trainerBufferBytes, trainerGraphOptions } from './trainer';

export interface TrainingMemoryPlan {
  baseParams: number;
  loraParams: number;
  storage: WeightStorage;
  /** Frozen base weights in `storage` (matrices) and f32 (norms, biases). */
  weightBytes: number;
  /** The largest single weight tensor in `storage` (one buffer: the embedding, or the LM head). */
  largestTensorBytes: number;
  /** LoRA parameters, gradients and the two AdamW moments (four f32 buffers). */
  loraTrainingBytes: number;
  /** The step's activation arena: what the backward keeps plus scratch (LM-head logits chunk, gradients of activations). */
  activationBytes: number;
  /** activationBytes by what the buffers hold (they sum to it; kinds in arena.ts ActivationKind). */
  activationParts: Record<ActivationKind, number>;
  /** The trainer's loss/gradient-statistics buffers and the RoPE table. */
  otherBytes: number;
  totalBytes: number;
  /** What the backward recomputes at these settings (the trainer's 'auto' choice resolved). */
  recompute: RecomputeLevel;
  /** Rows of the LM head per chunk. */
  logitsChunkRows: number;
}

export interface MemoryPlanEngine {
  /** Resolved weight storage (the session's 'auto' is f16 where the device has shader-f16). */
  storage: WeightStorage;
  recompute?: GraphOptions['recompute'];
  activationBudgetBytes?: number;
  /** A GGUF base's quantized tensors, kept as stored whatever `storage` is (keptTensors). */
  kept?: KeptTensors;
}

/** Bytes a TrainingSession with these settings allocates on the GPU (throws what the engine would: a tensor over the binding limit, a bad rank). */
export function planTrainingMemory(
  cfg: ModelConfig,
  s: MemorySettings,
  engine: MemoryPlanEngine,
  maxBindingBytes: number,
): TrainingMemoryPlan {
  // Alpha, dropout and rsLoRA change values, not sizes.
  const layout = planLoraLayout(cfg, { r: s.rank, alpha: s.rank, dropout: 0, targetModules: s.targets as LinearModule[], useRslora: false });
  const B = batchRows(s);
  const acts = planTrainingActivations(cfg, layout, B, s.seqLen, maxBindingBytes, trainerGraphOptions({ recompute: engine.recompute, activationBudgetBytes: engine.activationBudgetBytes }));
  const weightBytes = plannedWeightBytes(cfg, engine.storage, engine.kept);
  const loraTrainingBytes = 4 * allocationSize(layout.totalFloats * 4);
  // One RoPE table of D/2 floats (LlamaModel); gemma has a second for its local layers.
  const rope = allocationSize(ropeInvFreq(cfg.headDim, cfg.ropeTheta, cfg.ropeScaling).byteLength) * (cfg.gemma ? 2 : 1);
  const otherBytes = rope + Object.values(trainerBufferBytes(layout.totalFloats, s.objective && isPreferenceObjective(s.objective) ? B : 0))
      .filter((b) => b > 0)
      .reduce((a, b) => a + allocationSize(b), 0);
  return {
    baseParams: parameterCount(cfg),
    loraParams: layout.paramCount,
    storage: engine.storage,
    weightBytes,
    largestTensorBytes: largestWeightTensorBytes(cfg, engine.storage, engine.kept),
    loraTrainingBytes,
    activationBytes: acts.totalBytes,
    activationParts: activationBreakdown(acts),
    otherBytes,
    totalBytes: weightBytes + loraTrainingBytes + acts.totalBytes + otherBytes,
    recompute: acts.recompute,
    logitsChunkRows: acts.chunkRows,
  };
}

export interface PlanLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/**
 * What 'auto' weighs for a training run (chooseWeightStorage): each storage's whole plan,
 * refused where a weight tensor exceeds the device's largest buffer or the plan itself throws.
 */
export function trainingWeightFit(
  cfg: ModelConfig,
  s: MemorySettings,
  recompute: GraphOptions['recompute'],
  limits: PlanLimits,
  budgetBytes = AUTO_BUDGET_BYTES,
  kept?: KeptTensors,
): WeightFit & { plan(storage: WeightStorage): TrainingMemoryPlan } {
  const plan = (storage: WeightStorage) => {
    checkWeightBuffers(cfg, storage, limits.maxBufferSize, kept);
    return planTrainingMemory(cfg, s, { storage, recompute, kept }, limits.maxStorageBufferBindingSize);
  };
  return { plan, planBytes: (storage) => plan(storage).totalBytes, budgetBytes };
}
