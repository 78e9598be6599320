// DPO and ORPO runs through TrainingSession (the one loop the CLI and the worker use) on a tiny
// random Llama with the tiny tokenizer: the cached reference log-probs are the base model's,
// exactly; a checkpoint carries them and resumes exactly; a DPO run learns a preferred style so
// that held-out pairs are ranked right and greedy generation answers in that style.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../test/fixtures/tiny-model';
import { getTestContext } from '../../test/gpu-device';
import { memorySource, SafetensorsFile } from '../engine/model/safetensors';
import { loadTokenizer, tokenizeExamples, trainingData, type Example } from '../data';
import { DEFAULT_SETTINGS, type TrainSettings } from './settings';
import { TrainingSession, type RunCheckpoint, type StepMetrics, type TrainingData } from './session';
import { generateWith } from '../worker/generation-service';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-file';

const model = buildTinyModel({ layers: 2, hiddenSize: 32, numHeads: 4, numKvHeads: 2, seed: 11 });
const tok = loadTokenizer({ tokenizerJson: model.tokenizerJson, tokenizerConfig: model.tokenizerConfig });

/** Pair i: a question; the chosen answer is always "yes …", the rejected one "no …". */
function pair(i: number): Example {
  return {
    kind: 'preference',
    row: i,
    conversational: true,
    messages: [{ role: 'user', content: `q${i % 9} ${String.fromCharCode(97 + (i % 7))}` }],
    chosen: [{ role: 'assistant', content: `yes ${i % 5}` }],
    rejected: [{ role: 'assistant', content: `no ${i % 5}` }],
  };
}

async function pairs(n: number): Promise<TrainingData> {
  const r = await tokenizeExamples(tok, Array.from({ length: n }, (_, i) => pair(i)));
  expect(r.errors).toEqual([]);
  return trainingData(r);
}

const settings = (over: Partial<TrainSettings>): TrainSettings => ({
  ...DEFAULT_SETTINGS,
  objective: 'dpo',
  rank: 4,
  alpha: 8,
  dropout: 0,
  learningRate: 1e-2,
  schedule: 'constant',
  warmupSteps: 0,
  batchSize: 2,
  gradAccum: 2,
  seqLen: 80,
  valSplit: 0.25,
  evalEvery: 1000,
  checkpointEvery: 1000,
  ...over,
});

async function open(data: TrainingData, s: TrainSettings) {
  const ctx = await getTestContext({ fallback: true });
  const store = await SafetensorsFile.open(memorySource(model.files['model.safetensors'] as Uint8Array));
  return TrainingSession.open(ctx, model.config, store, data, s, { engine: { weightStorage: 'f32' } });
}

describe('preference runs through TrainingSession', () => {
  it('refuses data that does not fit the objective, saying what the file holds', async () => {
    const p = await pairs(4);
    expect(() => TrainingSession.plan(p, settings({ objective: 'sft' }))).toThrow(/holds 4 preference pairs .*choose the DPO or ORPO objective/);
    const sft = (await tokenizeExamples(tok, [{ kind: 'chat', row: 0, messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }])).examples;
    expect(() => TrainingSession.plan(sft, settings({ objective: 'orpo' }))).toThrow(/ORPO trains on preference pairs .* 1 examples with one answer each/);
    // Pairs ride together: batchSize counts pairs, each micro-batch has 2 × batchSize rows.
    const plan = TrainingSession.plan(p, settings({ valSplit: 0 }));
    expect(plan.batches.B).toBe(4);
    for (const b of plan.batches.epochBatches(0)) expect(b.rows.filter((_, k) => k % 2 === 0)).toEqual(b.rows.filter((_, k) => k % 2 === 1));
  });

  it('DPO: the cached reference log-probs are the base model’s (adapter off), exactly, and a checkpoint carries them and resumes exactly', async () => {
    const data = await pairs(12);
    const s = await open(data, settings({ maxSteps: 5 }));
    let ckpt: RunCheckpoint;
    const losses: number[] = [];
    try {
      await s.step();
      await s.step();
      ckpt = await decodeCheckpoint(encodeCheckpoint(await s.checkpoint()));
      for (let i = 0; i < 3; i++) losses.push((await s.step()).loss);
      const cache = (await s.referenceLogps())!;
      expect(cache.size).toBe(12);
      let compared = 0;
      for (const it of [TrainingSession.plan(data, s.settings).batches]) {
        for (const b of it.epochBatches(0)) {
          const base = await s.trainer.evalPreference(b, { loraScale: 0 });
          const policy = await s.trainer.evalPreference(b);
          for (let i = 0; 2 * i < b.rows.length; i++) {
            expect(cache.get(b.rows[2 * i])).toEqual([base.logps[2 * i], base.logps[2 * i + 1]]);
            expect(policy.logps[2 * i]).not.toBe(base.logps[2 * i]); // trained: the adapter moved the policy
            compared++;
          }
        }
      }
      expect(compared).toBe(9); // the training pairs (the held-out ones are in the cache too: size 12)
      expect(ckpt.reference).toHaveLength(12);
    } finally {
      s.destroy();
    }
    const resumed = await open(data, settings({ maxSteps: 5 }));
    try {
      resumed.restore(ckpt);
      const again: number[] = [];
      for (let i = 0; i < 3; i++) again.push((await resumed.step()).loss);
      expect(again).toEqual(losses);
    } finally {
      resumed.destroy();
    }
  });

  it('ORPO: no reference pass; the held-out loss (NLL + odds ratio) falls', async () => {
    const s = await open(await pairs(16), settings({ objective: 'orpo', orpoLambda: 0.5, maxSteps: 8 }));
    try {
      expect(await s.referenceLogps()).toBeNull();
      const before = (await s.evaluate())!;
      const steps: StepMetrics[] = [];
      await s.run({ onStep: (m) => void steps.push(m) });
      expect(steps.every((m) => Number.isFinite(m.loss) && m.preference !== undefined)).toBe(true);
      const after = (await s.evaluate())!;
      expect(after.valLoss).toBeLessThan(before.valLoss);
      expect(after.preference!['logps/chosen']).toBeGreaterThan(before.preference!['logps/chosen']);
    } finally {
      s.destroy();
    }
  });

  it('DPO learns the preferred style: held-out reward accuracy ≥ 0.9 and greedy answers start with it', async () => {
    const data = await pairs(40);
    const s = await open(data, settings({ maxSteps: 30, evalEvery: 30 }));
    try {
      const answer = async (q: string) =>
        (await generateWith(s.trainer.model, s.trainer.lora, tok, { messages: [{ role: 'user', content: q }], maxNewTokens: 3, temperature: 0, topP: 1, seed: 0, adapterScale: 1 })).text;
      const questions = ['q3 b', 'q7 e', 'q1 g'];
      const before = await Promise.all(questions.map(answer));
      expect(before.filter((a) => /^yes/.test(a)), 'the base model must not already answer in the chosen style').toEqual([]);
      const steps: StepMetrics[] = [];
      const first = await s.evaluate();
      expect(first!.preference!['rewards/accuracies']).toBe(0);
      expect(first!.valLoss).toBeCloseTo(Math.LN2, 5); // policy = reference before training
      await s.run({ onStep: (m) => void steps.push(m) });
      expect(steps[0].loss).toBeCloseTo(Math.LN2, 5);
      const last = steps[steps.length - 1];
      expect(last.valPreference!['rewards/accuracies']).toBeGreaterThanOrEqual(0.9);
      expect(last.valPreference!['rewards/margins']).toBeGreaterThan(0);
      expect(last.valLoss!).toBeLessThan(Math.LN2);
      for (const q of questions) expect(await answer(q)).toMatch(/^yes/);
    } finally {
      s.destroy();
    }
  });
});
