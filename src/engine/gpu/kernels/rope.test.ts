// Unit test (no GPU): the CPU-side inverse frequencies against values computed independently
// with numpy float32, following transformers' _compute_default_rope_parameters and
// _compute_llama3_parameters (D=64, theta=500000, factor 32, low 1, high 4, original 8192).
import { expect, it } from 'vitest';
import { ropeInvFreq } from './rope';
import { expectClose } from '../../../../test/numeric';

const numpy: [number, number, number][] = [
  // i, plain inv_freq, llama3-scaled
  [0, 1.0, 1.0],
  [5, 0.12868738174438477, 0.12868738174438477],
  [12, 0.00729266507551074, 0.00729266507551074],
  [15, 0.002131119603291154, 0.0012905480107292533],
  [16, 0.001414213445968926, 0.000429556705057621],
  [17, 0.0009384738514199853, 9.708286233944818e-5],
  [18, 0.0006227724370546639, 1.9461638657958247e-5],
  [20, 0.00027424818836152554, 8.570255886297673e-6],
  [31, 3.0138583042571554e-6, 9.41830720080361e-8],
];

it('ropeInvFreq matches transformers (plain and llama3 scaling)', () => {
  const plain = ropeInvFreq(64, 500000);
  const scaled = ropeInvFreq(64, 500000, { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
  expect(plain.length).toBe(32);
  // f32 pow may differ by an ulp between libms: rtol 3e-7.
  expectClose(numpy.map(([i]) => plain[i]), numpy.map(([, p]) => p), 0, 3e-7, 'plain inv_freq');
  expectClose(numpy.map(([i]) => scaled[i]), numpy.map(([, , s]) => s), 0, 3e-7, 'llama3 inv_freq');
  // SmolLM2: theta 100000, D 64.
  expect(ropeInvFreq(64, 100000)[1]).toBeCloseTo(100000 ** (-2 / 64), 7);
});
