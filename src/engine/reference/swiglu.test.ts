import { expect, it } from 'vitest';
import { type GatedActivation, swigluBackward, swigluForward } from './swiglu';
import { randArray, rng } from '../../../test/numeric';
import { checkGradients } from '../../../test/finite-diff';

it.each<GatedActivation>(['silu', 'gelu_tanh'])('%s gated backward matches finite differences (and accumulates)', (act) => {
  const r = rng(5);
  const N = 17;
  const gate = randArray(r, N, -6, 6);
  const up = randArray(r, N, -2, 2);
  const w = randArray(r, N);
  const loss = () => {
    const out = new Float64Array(N);
    swigluForward(out, gate, up, N, act);
    return out.reduce((s, v, i) => s + v * w[i], 0);
  };
  const p1 = randArray(r, N);
  const p2 = randArray(r, N);
  const dg = Float64Array.from(p1);
  const du = Float64Array.from(p2);
  swigluBackward(dg, du, w, gate, up, N, act);
  checkGradients({ gate, up }, loss, { gate: dg.map((v, i) => v - p1[i]), up: du.map((v, i) => v - p2[i]) });
});

it('gelu_tanh is PyTorch gelu(approximate="tanh") and silu is x·sigmoid(x)', () => {
  const g = [-3, -1, 0, 0.5, 1, 2.5];
  // PyTorch's documented gelu(approximate='tanh'), 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))),
  // evaluated independently in Python float64 (gelu_tanh(1) = 0.84119... is the familiar value).
  const gelu = [-0.0036373920817729943, -0.15880800939172324, 0, 0.34571400982514394, 0.8411919906082768, 2.484915733910001];
  const out = new Float64Array(g.length);
  swigluForward(out, g, g.map(() => 1), g.length, 'gelu_tanh');
  for (let i = 0; i < g.length; i++) expect(out[i]).toBeCloseTo(gelu[i], 14);
  swigluForward(out, g, g.map(() => 1), g.length, 'silu');
  for (let i = 0; i < g.length; i++) expect(out[i]).toBeCloseTo(g[i] / (1 + Math.exp(-g[i])), 15);
});
