// AdamW launcher over a flat parameter buffer (all LoRA tensors packed), reading the clip
// factor and the non-finite flag from the GPU (globalGradNorm's stats) so no CPU round trip.
import code from '../../../../shaders/adamw.wgsl?raw';
import { type Binding, type GpuContext, type Live, type Recorder, type StepValues, liveValue, packLive } from '../context';
import { ceilDiv, grid1d } from '../grid';
import { defineParams } from '../params';

const PARAMS = defineParams(code, [
  ['N', 'u32'], ['lr', 'f32'], ['beta1', 'f32'], ['beta2', 'f32'], ['oneMinusBeta1', 'f32'], ['oneMinusBeta2', 'f32'],
  ['eps', 'f32'], ['weightDecay', 'f32'], ['bc1', 'f32'], ['bc2', 'f32'],
]);

const WG = 256;

export interface AdamWHyper {
  /** This step's learning rate (the schedule runs on the CPU). */
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled: param ← param·(1 − lr·weightDecay) before the Adam step. */
  weightDecay: number;
  /** 1-based step number, for the bias corrections 1 − beta^t (computed in float64 here). */
  t: number;
}

const unitScale = new WeakMap<GpuContext, GPUBuffer>();

/** [1, 0]: "no clipping, finite", bound when the caller passes no gradScale. */
function unitScaleBuffer(ctx: GpuContext): GPUBuffer {
  let b = unitScale.get(ctx);
  if (!b) {
    b = ctx.upload(new Float32Array([1, 0, 0, 0]), 'adamw_unit_scale');
    unitScale.set(ctx, b);
  }
  return b;
}

/**
 * One AdamW step on param[N] with state m[N], v[N] from grad[N] (all f32, updated in place):
 * g = grad · gradScale[0]; param ← param·(1 − lr·wd) − lr·(m/bc1)/(sqrt(v/bc2) + eps) after the
 * moment updates, as torch.optim.AdamW. gradScale is a GPU buffer [clip, nonFinite, …] (the
 * stats written by globalGradNorm): when its element 1 is non-zero the step changes nothing.
 * gradScale null means scale 1, never skip. param, m, v, grad must be four distinct ranges.
 */
export function adamwUpdate(
  ctx: GpuContext,
  rec: Recorder,
  param: Binding,
  m: Binding,
  v: Binding,
  grad: Binding,
  gradScale: Binding | null,
  N: number,
  hp: Omit<AdamWHyper, 'lr' | 't'> & { lr: Live; t: Live }, // step values in a replayed step
): void {
  const pipeline = ctx.pipeline(code, { constants: { WG }, label: 'adamw' });
  const { beta1, beta2, eps, weightDecay } = hp;
  const pack = (v: StepValues) => {
    const t = liveValue(hp.t, v);
    if (!(t >= 1) || !Number.isInteger(t)) throw new Error(`adamwUpdate: step t must be a positive integer, got ${t}`);
    return PARAMS.pack({
      N, lr: liveValue(hp.lr, v), beta1, beta2, oneMinusBeta1: 1 - beta1, oneMinusBeta2: 1 - beta2, eps, weightDecay, bc1: 1 - beta1 ** t, bc2: 1 - beta2 ** t,
    });
  };
  const params = packLive(pack, hp.lr, hp.t);
  rec.dispatch(pipeline, [param, m, v, grad, gradScale ?? unitScaleBuffer(ctx)], params, grid1d(ceilDiv(N, WG), ctx.caps.maxComputeWorkgroupsPerDimension), 'adamw', {
    flops: 16 * N, // moments, bias corrections, sqrt, divide, decay
    bytes: 7 * N * 4, // param, m, v read and written; grad read
  });
}
