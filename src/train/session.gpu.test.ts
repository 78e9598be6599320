// TrainingSession end to end on the GPU with a tiny random Llama and the tiny tokenizer:
// the loss falls on a memorisable dataset, a checkpoint written to bytes and restored in a
// fresh session continues exactly like an uninterrupted run, and the loop's cadences, pause,
// stop and device loss behave as the worker and the CLI rely on.
import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../test/fixtures/tiny-model';
import { getTestContext, ownTestContext } from '../../test/gpu-device';
import { memorySource, SafetensorsFile } from '../engine/model/safetensors';
import { loadTokenizer, tokenizeExamples, type Example } from '../data';
import { DEFAULT_SETTINGS, type TrainSettings } from './settings';
import { collectSamples, TrainingSession, type RunCheckpoint, type StepMetrics, type TrainingSample } from './session';
import { DeviceLostError } from './trainer';
import { generateWith } from '../worker/generation-service';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint-file';

const model = buildTinyModel({ layers: 2, hiddenSize: 32, numHeads: 4, numKvHeads: 2, seed: 11 });

function chat(i: number): Example {
  return {
    kind: 'chat',
    row: i,
    messages: [
      { role: 'system', content: 'x' },
      { role: 'user', content: `n${i % 6}` },
      { role: 'assistant', content: `ok ${i % 6}` },
    ],
  };
}

async function tokenized(n: number) {
  const tok = loadTokenizer({ tokenizerJson: model.tokenizerJson, tokenizerConfig: model.tokenizerConfig });
  const r = await tokenizeExamples(tok, Array.from({ length: n }, (_, i) => chat(i)), { lossMode: 'all-assistant' });
  expect(r.errors).toEqual([]);
  return r.examples;
}

const settings = (over: Partial<TrainSettings>): TrainSettings => ({
  ...DEFAULT_SETTINGS,
  rank: 4,
  alpha: 8,
  dropout: 0.1,
  learningRate: 5e-3,
  schedule: 'constant',
  warmupSteps: 0,
  batchSize: 2,
  gradAccum: 2,
  seqLen: 64,
  valSplit: 0.2,
  evalEvery: 1000,
  checkpointEvery: 1000,
  ...over,
});

async function open(examples: Awaited<ReturnType<typeof tokenized>>, s: TrainSettings, ctxIn?: Awaited<ReturnType<typeof getTestContext>>) {
  const ctx = ctxIn ?? (await getTestContext({ fallback: true }));
  const store = await SafetensorsFile.open(memorySource(model.files['model.safetensors'] as Uint8Array));
  return TrainingSession.open(ctx, model.config, store, examples, s, { engine: { weightStorage: 'f32' } });
}

describe('TrainingSession', () => {
  it('refuses a sequence length past max_position_embeddings before uploading anything', async () => {
    const ctx = await getTestContext({ fallback: true });
    const before = ctx.allocatedBytes;
    await expect(open(await tokenized(4), settings({ seqLen: model.config.maxPositionEmbeddings + 1 }))).rejects.toThrow(/longer than this model's max_position_embeddings \(256\)/);
    expect(ctx.allocatedBytes).toBe(before);
  });

  it('destroy frees every buffer the session made: a second open, step and destroy leaves no more allocated', async () => {
    const ctx = await getTestContext({ fallback: true });
    const ex = await tokenized(4);
    const cycle = async () => {
      const s = await open(ex, settings({ maxSteps: 1 }), ctx);
      await s.step();
      s.destroy();
      return ctx.allocatedBytes;
    };
    // The first cycle may leave per-device constants (cached once); any per-session leftover (the RoPE table was one) grows each cycle.
    const after1 = await cycle();
    expect(await cycle()).toBe(after1);
  });

  it('trains: the validation loss falls on a learnable dataset', async () => {
    const ex = await tokenized(30);
    const s = await open(ex, settings({ maxSteps: 24 }));
    try {
      const before = (await s.evaluate())!.valLoss;
      const steps: StepMetrics[] = [];
      const r = await s.run({ onStep: (m) => void steps.push(m) });
      expect(r.stoppedBy).toBe('completed');
      expect(steps.map((m) => m.step)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
      expect(steps.every((m) => Number.isFinite(m.loss) && m.tokens > 0 && m.tokensPerSec > 0)).toBe(true);
      // The held-out examples repeat the training patterns, so a working trainer must lower their loss a lot.
      expect(r.finalValLoss!).toBeLessThan(before * 0.6);
    } finally {
      s.destroy();
    }
  });

  it('a checkpoint restored in a new session continues exactly like an uninterrupted run', async () => {
    const ex = await tokenized(20);
    const s = settings({ maxSteps: 6, checkpointEvery: 3, valSplit: 0 });
    const full = await open(ex, s);
    const fullLosses: number[] = [];
    let saved: Uint8Array | null = null;
    await full.run({
      onStep: (m) => void fullLosses.push(m.loss),
      onCheckpoint: (c) => {
        if (c.trainer.step === 3) saved = encodeCheckpoint(c);
      },
    });
    full.destroy();
    expect(saved).not.toBeNull();
    const resumed = await open(ex, s);
    resumed.restore(await decodeCheckpoint(saved!));
    expect(resumed.stepsCompleted).toBe(3);
    const tail: number[] = [];
    await resumed.run({ onStep: (m) => void tail.push(m.loss) });
    resumed.destroy();
    // Same data order, same dropout masks, same optimizer state: identical arithmetic on the same device.
    expect(tail).toEqual(fullLosses.slice(3));
  });

  it('run pipelines steps (the next one queued while a step is reported) with the same per-step metrics and bit-identical parameters as stepping one at a time', async () => {
    const ex = await tokenized(20);
    const st = settings({ maxSteps: 7, evalEvery: 3, checkpointEvery: 5, schedule: 'cosine', warmupSteps: 2 });
    const pick = (m: StepMetrics) => ({ step: m.step, loss: m.loss, gradNorm: m.gradNorm, lr: m.lr, epoch: m.epoch, tokens: m.tokens, valLoss: m.valLoss });
    const plain = await open(ex, st);
    const expected = [];
    try {
      for (let i = 0; i < 7; i++) {
        const m = await plain.step();
        if (plain.evalDue()) m.valLoss = (await plain.evaluate())!.valLoss;
        expected.push(pick(m));
      }
      expect(plain.trainer.stepsInFlight).toBe(0);
      const want = (await plain.checkpoint()).trainer;
      const s = await open(ex, st);
      const got: ReturnType<typeof pick>[] = [];
      const queued: string[] = [];
      const saved: number[] = [];
      try {
        await s.run({
          onStep: (m) => {
            got.push(pick(m));
            queued.push(`${m.step}:${s.trainer.stepsInFlight}`);
          },
          onCheckpoint: (c) => void saved.push(c.trainer.step),
        });
        const have = (await s.checkpoint()).trainer;
        expect(Array.from(have.params)).toEqual(Array.from(want.params));
        expect(Array.from(have.v)).toEqual(Array.from(want.v));
      } finally {
        s.destroy();
      }
      // Drained (nothing queued) after the steps that evaluate (3, 6), checkpoint (5) and the last (7).
      expect(queued).toEqual(['1:1', '2:1', '3:0', '4:1', '5:0', '6:0', '7:0']);
      expect(saved).toEqual([5, 7]);
      expect(got).toEqual(expected);
      expect(new Set(got.map((m) => m.loss)).size).toBe(7);
    } finally {
      plain.destroy();
    }
  });

  it('stops when cancelled, after the step in flight, with a checkpoint of the step it stopped at', async () => {
    const ex = await tokenized(12);
    const s = await open(ex, settings({ maxSteps: 50, valSplit: 0 }));
    const ac = new AbortController();
    const saved: number[] = [];
    const r = await s.run({
      signal: ac.signal,
      onStep: (m) => {
        if (m.step === 2) {
          expect(s.trainer.stepsInFlight).toBe(1); // step 3 is queued: stopping takes it back
          ac.abort();
        }
      },
      onCheckpoint: (c) => void saved.push(c.trainer.step),
    });
    s.destroy();
    expect(r).toMatchObject({ stoppedBy: 'cancelled', step: 2 });
    expect(saved).toEqual([2]);
  });

  it('runs evaluation, checkpoints and samples on their cadences (and all three after the last step)', async () => {
    const ex = await tokenized(20);
    const s = await open(ex, settings({ maxSteps: 6, evalEvery: 2, checkpointEvery: 4, sampleEvery: 3, gradAccum: 1 }));
    const log: string[] = [];
    try {
      const r = await s.run({
        onStep: (m) => void log.push(`step ${m.step}${m.valLoss !== undefined ? ' val' : ''}`),
        onCheckpoint: (c) => void log.push(`checkpoint ${c.trainer.step}`),
        samples: {
          prompts: ['n1', 'bad'],
          onSampling: (step) => void log.push(`sampling ${step}`),
          generate: async (p) => {
            if (p === 'bad') throw new Error('no answer');
            return `answer ${s.stepsCompleted}`;
          },
          onSample: (x) => void log.push(`sample ${x.step} ${x.output || x.error}`),
        },
      });
      expect(r).toMatchObject({ stoppedBy: 'completed', step: 6 });
      expect(r.finalValLoss).toEqual(expect.any(Number));
    } finally {
      s.destroy();
    }
    expect(log).toEqual([
      'step 1',
      'step 2 val',
      'step 3',
      'sampling 3',
      'sample 3 answer 3',
      'sample 3 no answer',
      'step 4 val',
      'checkpoint 4',
      'step 5',
      'step 6 val',
      'checkpoint 6',
      'sampling 6',
      'sample 6 answer 6',
      'sample 6 no answer',
    ]);
  });

  it('a pause checkpoints, waits until resumed, and the run ends exactly like an uninterrupted one', async () => {
    const ex = await tokenized(20);
    const st = settings({ maxSteps: 5, valSplit: 0 });
    const plain = await open(ex, st);
    const plainLosses: number[] = [];
    await plain.run({ onStep: (m) => void plainLosses.push(m.loss) });
    plain.destroy();

    const s = await open(ex, st);
    const log: string[] = [];
    const losses: number[] = [];
    let stepsWhilePaused = -1;
    try {
      const r = await s.run({
        onStep: (m) => {
          losses.push(m.loss);
          log.push(`step ${m.step}`);
          if (m.step === 2) {
            expect(s.trainer.stepsInFlight).toBe(1); // step 3 is queued: the pause takes it back
            expect(s.pause()).toBe(true);
            expect(s.pause()).toBe(false); // already pausing
          }
        },
        onCheckpoint: (c) => void log.push(`checkpoint ${c.trainer.step}`),
        onStatus: async (status) => {
          log.push(status);
          if (status !== 'paused') return;
          expect(s.paused).toBe(true);
          // Nothing steps while paused: give the loop a chance to (wrongly) go on.
          await new Promise((r) => setTimeout(r, 20));
          stepsWhilePaused = s.stepsCompleted;
          setTimeout(() => expect(s.resume()).toBe(true), 20);
        },
      });
      expect(r).toMatchObject({ stoppedBy: 'completed', step: 5 });
    } finally {
      s.destroy();
    }
    expect(stepsWhilePaused).toBe(2);
    expect(log).toEqual(['step 1', 'step 2', 'checkpoint 2', 'paused', 'running', 'step 3', 'step 4', 'step 5', 'checkpoint 5']);
    expect(losses).toEqual(plainLosses);
    expect(s.resume()).toBe(false);
  });

  it('stopping a paused run ends it at the paused step, checkpointed once', async () => {
    const ex = await tokenized(12);
    const s = await open(ex, settings({ maxSteps: 20, valSplit: 0 }));
    const ac = new AbortController();
    const saved: number[] = [];
    const statuses: string[] = [];
    try {
      const r = await s.run({
        signal: ac.signal,
        onStep: (m) => {
          if (m.step === 2) s.pause();
        },
        onCheckpoint: (c) => void saved.push(c.trainer.step),
        onStatus: (status) => {
          statuses.push(status);
          setTimeout(() => ac.abort(), 10);
        },
      });
      expect(r).toMatchObject({ stoppedBy: 'cancelled', step: 2 });
    } finally {
      s.destroy();
    }
    expect(saved).toEqual([2]);
    expect(statuses).toEqual(['paused']);
  });

  it('a device lost mid-run raises DeviceLostError; the last checkpoint handed out is intact and resumable', async () => {
    const ex = await tokenized(20);
    const st = settings({ maxSteps: 8, checkpointEvery: 2, valSplit: 0 });
    const ctx = await ownTestContext({ fallback: true });
    const s = await open(ex, st, ctx);
    const saved: RunCheckpoint[] = [];
    const run = s.run({
      onStep: (m) => {
        if (m.step === 3) ctx.device.destroy();
      },
      onCheckpoint: (c) => void saved.push(c),
    });
    await expect(run).rejects.toThrow(DeviceLostError);
    const err = (await run.catch((e: unknown) => e)) as DeviceLostError;
    expect(err.detail.length).toBeGreaterThan(0);
    expect(s.stepsCompleted).toBe(3);
    expect(saved.map((c) => c.trainer.step)).toEqual([2]);
    // The checkpoint continues on another device.
    const again = await open(ex, st);
    try {
      again.restore(saved[0]);
      const r = await again.run({});
      expect(r).toMatchObject({ stoppedBy: 'completed', step: 8 });
    } finally {
      again.destroy();
    }
  });

  it('a device lost while paused ends the wait with DeviceLostError', async () => {
    const ex = await tokenized(12);
    const ctx = await ownTestContext({ fallback: true });
    const s = await open(ex, settings({ maxSteps: 20, valSplit: 0 }), ctx);
    const statuses: string[] = [];
    const run = s.run({
      onStep: (m) => {
        if (m.step === 1) s.pause();
      },
      onStatus: (status) => {
        statuses.push(status);
        ctx.device.destroy();
      },
    });
    await expect(run).rejects.toThrow(DeviceLostError);
    expect(statuses).toEqual(['paused']);
    expect(s.stepsCompleted).toBe(1);
    expect(s.paused).toBe(false);
  });

  it('explains a sequence length too short to train anything', async () => {
    const ex = await tokenized(4);
    await expect(open(ex, settings({ seqLen: 8 }))).rejects.toThrow(/no(ne of the 4 examples has a)? trained token within the first 8 tokens/);
  });

  it('samples during training: a base model without a chat template continues plain text; a sample that fails is kept with its error and training goes on', async () => {
    // A base model: no chat template, and no BOS, so an empty prompt cannot be generated.
    const { chat_template: _t, bos_token: _b, ...config } = model.tokenizerConfig;
    const tok = loadTokenizer({ tokenizerJson: model.tokenizerJson, tokenizerConfig: config });
    const rows: Example[] = Array.from({ length: 8 }, (_, i) => ({ kind: 'completion', row: i, messages: [{ role: 'user', content: `n${i % 4}` }, { role: 'assistant', content: ` ok ${i % 4}` }] }));
    const r = await tokenizeExamples(tok, rows);
    expect(r.errors).toEqual([]);
    const s = await open(r.examples, settings({ maxSteps: 2, valSplit: 0, gradAccum: 1 }));
    const samples: TrainingSample[] = [];
    const answer = async (prompt: string) =>
      (await generateWith(s.trainer.model, s.trainer.lora, tok, { messages: [{ role: 'user', content: prompt }], maxNewTokens: 3, temperature: 0, topP: 1, seed: 0, adapterScale: 1 })).text;
    try {
      while (s.stepsCompleted < s.totalSteps) {
        await s.step();
        await collectSamples(s.stepsCompleted, ['The capital of France is', ''], answer, (x) => void samples.push(x));
      }
      expect(s.stepsCompleted).toBe(2);
      expect(samples.map((x) => [x.step, x.prompt, x.error === undefined])).toEqual([
        [1, 'The capital of France is', true],
        [1, '', false],
        [2, 'The capital of France is', true],
        [2, '', false],
      ]);
      expect(samples[0].output.length).toBeGreaterThan(0);
      expect(samples[1]).toMatchObject({ output: '', error: expect.stringMatching(/prompt is empty.*no BOS token/) });
    } finally {
      s.destroy();
    }
  });
});
