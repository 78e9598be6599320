// Test helper (not shipped): the float64 twin of LoraTrainer.step — accumulated gradients of
// the mean loss over all micro-batch targets, global-norm clipping, AdamW (torch semantics),
// the same LR schedule — built from the float64 references.
import { type ModelShape, type RefBatch, type RefLora, referenceBackward } from '../engine/reference/model';
import { adamwUpdate } from '../engine/reference/adamw';
import { globalGradNorm } from '../engine/reference/norm';
import type { OptimConfig } from '../engine/optim/config';
import { learningRate } from '../engine/optim/schedule';

export class ReferenceTrainer {
  private t = 0;
  private readonly m = new Map<string, Float64Array>();
  private readonly v = new Map<string, Float64Array>();

  constructor(
    readonly cfg: ModelShape,
    readonly weights: Map<string, Float64Array>,
    readonly lora: RefLora,
    readonly optim: OptimConfig,
  ) {
    for (const [k, w] of lora.weights) {
      this.m.set(k, new Float64Array(w.length));
      this.v.set(k, new Float64Array(w.length));
    }
  }

  step(batches: RefBatch[]): { loss: number; gradNorm: number; lr: number; clip: number } {
    const counts = batches.map((b) => Array.from(b.targets).filter((x) => x !== -100).length);
    const total = counts.reduce((a, b) => a + b, 0);
    const grads = new Map<string, Float64Array>();
    for (const [k, w] of this.lora.weights) grads.set(k, new Float64Array(w.length));
    let loss = 0;
    batches.forEach((b, i) => {
      const r = referenceBackward(this.cfg, this.weights, this.lora, b, counts[i] / total);
      loss += (r.loss * counts[i]) / total;
      for (const [k, g] of r.grads) {
        const acc = grads.get(k)!;
        for (let j = 0; j < g.length; j++) acc[j] += g[j];
      }
    });
    const stats = new Float64Array(4);
    globalGradNorm(stats, [...grads.values()], this.optim.maxGradNorm, loss);
    const lr = learningRate(this.optim.schedule, this.t);
    this.t++;
    const o = this.optim;
    for (const [k, p] of this.lora.weights) {
      adamwUpdate(p, this.m.get(k)!, this.v.get(k)!, grads.get(k)!, stats, p.length, { lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, t: this.t });
    }
    return { loss, gradNorm: stats[2], lr, clip: stats[0] };
  }
}
