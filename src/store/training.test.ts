import { describe, expect, it } from 'vitest';
import { applyRunEvent, type LiveRun } from './training';

// The reducer only; the store's worker proxy is created lazily and never touched here.
describe('live run reducer', () => {
  const start = applyRunEvent(null, { type: 'status', runId: 'a', status: 'running', step: 0, totalSteps: 10 }, 1000)!;

  it('a status event starts following a run', () => {
    expect(start).toMatchObject({ runId: 'a', status: 'running', totalSteps: 10, startedAt: 1000, points: [] });
  });

  it('appends metrics and advances the step to the newest point', () => {
    const s = applyRunEvent(start, { type: 'metrics', runId: 'a', points: [{ runId: 'a', step: 1, time: 0, trainLoss: 3 }, { runId: 'a', step: 2, time: 0, trainLoss: 2.5 }] }, 0)!;
    expect(s.points.map((p) => p.step)).toEqual([1, 2]);
    expect(s.step).toBe(2);
  });

  it('ignores events of another run unless they announce it', () => {
    const other = applyRunEvent(start, { type: 'metrics', runId: 'b', points: [{ runId: 'b', step: 5, time: 0 }] }, 0);
    expect(other).toBe(start);
    const switched = applyRunEvent(start, { type: 'status', runId: 'b', status: 'running', step: 4, totalSteps: 8 }, 2000) as LiveRun;
    expect(switched.runId).toBe('b');
    expect(switched.step).toBe(4);
  });

  it('keeps a sample that could not be generated, with its error, and the run goes on', () => {
    const s = applyRunEvent(start, { type: 'sample', runId: 'a', step: 1, prompt: 'p', output: '', error: 'no template' }, 0)!;
    expect(s.samples).toEqual([{ step: 1, prompt: 'p', output: '', error: 'no template' }]);
    expect(s.status).toBe('running');
  });

  it('a lost device marks the run interrupted and resumable', () => {
    const s = applyRunEvent(start, { type: 'device-lost', runId: 'a', message: 'lost' }, 0)!;
    expect(s).toMatchObject({ status: 'interrupted', deviceLost: true, message: 'lost' });
    const resumed = applyRunEvent(s, { type: 'status', runId: 'a', status: 'running', step: 4, totalSteps: 10 }, 0)!;
    expect(resumed.deviceLost).toBe(false);
  });

  it('shows what the worker is doing until the first steps are measured', () => {
    const compiling = applyRunEvent(start, { type: 'status', runId: 'a', status: 'running', step: 0, totalSteps: 10, message: 'Compiling the GPU kernels and running step 1…' }, 0)!;
    expect(compiling.message).toBe('Compiling the GPU kernels and running step 1…');
    const stepped = applyRunEvent(compiling, { type: 'metrics', runId: 'a', points: [{ runId: 'a', step: 1, time: 0, trainLoss: 3 }] }, 0)!;
    expect(stepped.message).toBeUndefined();
    const done = applyRunEvent(stepped, { type: 'status', runId: 'a', status: 'completed', step: 10, totalSteps: 10, message: 'Done.' }, 0)!;
    expect(applyRunEvent(done, { type: 'metrics', runId: 'a', points: [{ runId: 'a', step: 10, time: 0 }] }, 0)!.message).toBe('Done.');
  });
});

describe('sequence length follows the chosen model', () => {
  it('choosing a model with fewer positions caps the length to its default; presets are capped too; a typed longer value stays (and is refused)', async () => {
    const { useTrain } = await import('./training');
    const { useModel } = await import('./model');
    const { buildTinyModel } = await import('../../test/fixtures/tiny-model');
    useTrain.getState().applyPreset('balanced');
    expect(useTrain.getState().settings.seqLen).toBe(512);
    useModel.getState().chooseLocal('tiny', buildTinyModel().configJson); // max_position_embeddings 256
    expect(useTrain.getState().settings.seqLen).toBe(256);
    useTrain.getState().applyPreset('thorough'); // 1024 elsewhere
    expect(useTrain.getState().settings.seqLen).toBe(256);
    useTrain.getState().set('seqLen', 300);
    expect(useTrain.getState().settings.seqLen).toBe(300); // the Train screen shows the refusal (adviseSeqLen)
    useModel.getState().choosePreset('HuggingFaceTB/SmolLM2-135M-Instruct'); // 8192 positions: nothing to cap
    expect(useTrain.getState().settings.seqLen).toBe(300);
  });
});

describe('the objective follows the chosen dataset', () => {
  it('pairs switch SFT to DPO and single answers DPO/ORPO to SFT, with a note; a fitting objective is kept; presets keep following the data', async () => {
    const { useTrain } = await import('./training');
    const { useDataset } = await import('./dataset');
    const train = () => useTrain.getState();
    train().set('objective', 'sft');
    useDataset.setState({ saved: { id: 'd1', name: 'pairs.jsonl', examples: 24, pairs: true } });
    expect(train().settings.objective).toBe('dpo');
    expect(train().objectiveNote).toBe('Objective set to DPO: the dataset holds preference pairs.');
    // ORPO fits pairs too: choosing another pairs dataset keeps it.
    train().set('objective', 'orpo');
    expect(train().objectiveNote).toBeNull();
    useDataset.setState({ saved: { id: 'd2', name: 'more-pairs.jsonl', examples: 30, pairs: true } });
    expect(train().settings.objective).toBe('orpo');
    expect(train().objectiveNote).toBeNull();
    // A preset (whose objective is SFT) does not undo the fit.
    train().applyPreset('quick');
    expect(train().settings.objective).toBe('dpo');
    useDataset.setState({ saved: { id: 'd3', name: 'chat.jsonl', examples: 50, pairs: false } });
    expect(train().settings.objective).toBe('sft');
    expect(train().objectiveNote).toBe('Objective set to SFT: the dataset holds one answer per example.');
    // Not known yet (an older save being read): nothing is switched.
    train().set('objective', 'orpo');
    useDataset.setState({ saved: { id: 'd4', name: 'old.jsonl', examples: 50 } });
    expect(train().settings.objective).toBe('orpo');
  });
});
