import { describe, expect, it } from 'vitest';
import { type Dropout, dropoutFactor, loraBackward, loraForward } from './lora';
import { randArray, rng } from '../../../test/numeric';
import { checkGradients } from '../../../test/finite-diff';

describe('lora reference', () => {
  it('p = 0 keeps every element with factor exactly 1', () => {
    for (let i = 0; i < 1000; i++) expect(dropoutFactor({ p: 0, seed: 7 }, i)).toBe(1);
  });

  it('dropout drops about p of the elements, scales the rest by 1/(1-p), and depends on the seed', () => {
    const n = 100_000;
    for (const p of [0.1, 0.5]) {
      let dropped = 0;
      let differ = 0;
      let badScale = 0;
      for (let i = 0; i < n; i++) {
        const f = dropoutFactor({ p, seed: 1 }, i);
        if (f === 0) dropped++;
        else if (f !== 1 / (1 - p)) badScale++;
        if ((f === 0) !== (dropoutFactor({ p, seed: 2 }, i) === 0)) differ++;
      }
      // Binomial std is √(n·p·(1-p)) ≤ 158 here; 5 std is a generous bound.
      expect(badScale).toBe(0);
      expect(Math.abs(dropped - n * p)).toBeLessThan(800);
      expect(differ).toBeGreaterThan(n * 2 * p * (1 - p) * 0.9);
    }
  });

  it('forward is y += scaling·B·A·x on a hand-computed case', () => {
    // C=2, R=1, OC=2: A=[1,2], B=[[3],[4]], x=[5,6] → h=17, out += 0.5·[51,68]
    const out = Float64Array.from([1, 1]);
    const h = new Float64Array(1);
    loraForward(out, h, [5, 6], [1, 2], [3, 4], 1, 2, 2, 1, 0.5, { p: 0, seed: 0 });
    expect(Array.from(h)).toEqual([17]);
    expect(Array.from(out)).toEqual([26.5, 35]);
  });

  const cases: [number, number, number, number, Dropout][] = [
    [1, 1, 1, 1, { p: 0, seed: 0 }],
    [3, 5, 4, 2, { p: 0, seed: 0 }],
    [4, 6, 3, 3, { p: 0.3, seed: 12345 }],
    [2, 7, 5, 4, { p: 0.5, seed: 99 }],
  ];
  it.each(cases)('backward matches finite differences (BT=%i C=%i OC=%i R=%i dropout=%o)', (BT, C, OC, R, dropout) => {
    const r = rng(BT * 1000 + C * 100 + OC * 10 + R);
    const inp = randArray(r, BT * C);
    const A = randArray(r, R * C);
    const B = randArray(r, OC * R);
    const w = randArray(r, BT * OC); // L = Σ w·out, so dL/dout = w
    const scaling = 1.7;
    const loss = () => {
      const out = new Float64Array(BT * OC);
      loraForward(out, new Float64Array(BT * R), inp, A, B, BT, C, OC, R, scaling, dropout);
      return out.reduce((s, v, i) => s + v * w[i], 0);
    };
    const h = new Float64Array(BT * R);
    loraForward(new Float64Array(BT * OC), h, inp, A, B, BT, C, OC, R, scaling, dropout);
    const dinp = new Float64Array(BT * C);
    const dA = new Float64Array(R * C);
    const dB = new Float64Array(OC * R);
    loraBackward(dinp, dA, dB, new Float64Array(BT * R), w, inp, h, A, B, BT, C, OC, R, scaling, dropout);
    if (dropout.p > 0) expect(dinp.some((v) => v === 0), 'some inputs dropped').toBe(true);
    checkGradients({ inp, A, B }, loss, { inp: dinp, A: dA, B: dB });
  });

  it('backward accumulates into dinp, dA, dB and overwrites dh', () => {
    const args = [[2], [3], [1], [4], [1], 1, 1, 1, 1, 1, { p: 0, seed: 0 }] as const;
    const dinp = Float64Array.from([10]);
    const dA = Float64Array.from([10]);
    const dB = Float64Array.from([10]);
    const dh = Float64Array.from([10]);
    // dout=2, inp=3, h=1, A=4, B=1: dB += 2·1, dh = 2·1, dA += 2·3, dinp += 2·4
    loraBackward(dinp, dA, dB, dh, ...args);
    expect([dinp[0], dA[0], dB[0], dh[0]]).toEqual([18, 16, 12, 2]);
  });
});
