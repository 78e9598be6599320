import { describe, expect, it } from 'vitest';
import { COMPARED_METRICS, align, canResume, comparableMetrics, deleteRunRefusal, etaFromPoints, formatLoss, lastLosses, formatDuration, markInterrupted, metricPointOf, safeFileName, seriesOf, thin } from './lifecycle';
import type { MetricPoint, RunRecord } from './records';
import { DEFAULT_SETTINGS } from '../worker/settings';

const run = (over: Partial<RunRecord>): RunRecord => ({
  id: 'r1', name: 'r', createdAt: 1, updatedAt: 1, status: 'running', datasetId: 'd', datasetName: 'd.jsonl',
  model: { id: 'm', source: 'hub' }, settings: DEFAULT_SETTINGS, notes: '', step: 10, totalSteps: 100,
  checkpointStep: 5, adapterId: null, error: null, ...over,
});

describe('run lifecycle', () => {
  it('a running run nobody trains any more becomes interrupted; the active one stays running', () => {
    expect(markInterrupted(run({}), null).status).toBe('interrupted');
    expect(markInterrupted(run({}), 'r1').status).toBe('running');
    const done = run({ status: 'completed' });
    expect(markInterrupted(done, null)).toBe(done);
  });

  it('resumes only from a checkpoint, and only runs that did not finish', () => {
    expect(canResume(run({ status: 'interrupted' }))).toBe(true);
    expect(canResume(run({ status: 'paused' }))).toBe(true);
    expect(canResume(run({ status: 'interrupted', checkpointStep: null }))).toBe(false);
    expect(canResume(run({ status: 'completed' }))).toBe(false);
    expect(canResume(run({ status: 'running' }))).toBe(false);
    expect(canResume(run({ status: 'stopped', checkpointStep: 100 }))).toBe(false);
  });
});

describe('deleting runs', () => {
  it('refuses the run in use (training, paused or resuming) with the reason, allows every other', () => {
    expect(deleteRunRefusal('r1', 'r1')).toMatch(/in use.*Stop it/);
    expect(deleteRunRefusal('r2', 'r1')).toBeNull();
    expect(deleteRunRefusal('r1', null)).toBeNull();
  });
});

describe('metric series', () => {
  const pts: MetricPoint[] = [
    { runId: 'r', step: 3, time: 0, trainLoss: 2.5, lr: 1e-4 },
    { runId: 'r', step: 1, time: 0, trainLoss: 3, lr: 5e-5 },
    { runId: 'r', step: 2, time: 0, trainLoss: NaN, valLoss: 2.9 },
  ];
  it('sorts by step and drops unmeasured values', () => {
    expect(seriesOf(pts, 'trainLoss')).toEqual({ steps: [1, 3], values: [3, 2.5] });
    expect(seriesOf(pts, 'valLoss')).toEqual({ steps: [2], values: [2.9] });
  });

  const pref = (acc: number, chosen: number) => ({ 'rewards/chosen': chosen, 'rewards/rejected': -chosen, 'rewards/margins': 2 * chosen, 'rewards/accuracies': acc, 'logps/chosen': -10, 'logps/rejected': -12 });

  it('keeps every number of a preference step (training and held-out pairs) in the stored point', () => {
    const m = { step: 4, loss: 0.6, lr: 1e-4, gradNorm: 0.5, tokensPerSec: 100, epoch: 1, valLoss: 0.65, preference: pref(0.75, 0.02), valPreference: pref(0.5, 0.01) };
    expect(metricPointOf('r', m, 9)).toEqual({ runId: 'r', step: 4, time: 9, trainLoss: 0.6, lr: 1e-4, gradNorm: 0.5, tokensPerSec: 100, valLoss: 0.65, preference: pref(0.75, 0.02), valPreference: pref(0.5, 0.01) });
    // SFT steps and steps that were not evaluated have no such fields (not undefined ones: IndexedDB stores what is there).
    expect(Object.keys(metricPointOf('r', { step: 1, loss: 2, lr: 0, gradNorm: 1, tokensPerSec: 5 }, 0)).sort()).toEqual(['gradNorm', 'lr', 'runId', 'step', 'time', 'tokensPerSec', 'trainLoss']);
  });

  it('reads a preference metric of the training or the held-out pairs as a series', () => {
    const ps: MetricPoint[] = [
      { runId: 'r', step: 2, time: 0, trainLoss: 0.6, preference: pref(1, 0.3), valPreference: pref(0.5, 0.1) },
      { runId: 'r', step: 1, time: 0, trainLoss: 0.69, preference: pref(0.5, 0) },
      { runId: 'r', step: 3, time: 0, trainLoss: 0.5 },
    ];
    expect(seriesOf(ps, { of: 'preference', name: 'rewards/accuracies' })).toEqual({ steps: [1, 2], values: [0.5, 1] });
    expect(seriesOf(ps, { of: 'valPreference', name: 'rewards/margins' })).toEqual({ steps: [2], values: [0.2] });
    expect(seriesOf(ps, { of: 'preference', name: 'rewards/chosen' })).toEqual({ steps: [1, 2], values: [0, 0.3] });
  });

  it('offers for comparison only the metrics at least one selected run measured', () => {
    const ids = (runs: MetricPoint[][]) => comparableMetrics(runs).map((m) => m.id);
    const sftNoVal: MetricPoint[] = [{ runId: 'a', step: 1, time: 0, trainLoss: 2, valLoss: NaN }];
    const sft: MetricPoint[] = [...sftNoVal, { runId: 'a', step: 2, time: 0, trainLoss: 1.9, valLoss: 2.1 }];
    const dpoTrainOnly: MetricPoint[] = [{ runId: 'b', step: 1, time: 0, trainLoss: 0.69, preference: pref(0.5, 0.1) }];
    const dpo: MetricPoint[] = [...dpoTrainOnly, { runId: 'b', step: 2, time: 0, trainLoss: 0.6, valLoss: 0.65, preference: pref(1, 0.2), valPreference: pref(0.5, 0.1) }];
    expect(ids([])).toEqual([]);
    expect(ids([sftNoVal])).toEqual(['trainLoss']);
    expect(ids([sft])).toEqual(['trainLoss', 'valLoss']);
    const trainPairs = ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected'];
    expect(ids([sftNoVal, dpoTrainOnly])).toEqual(['trainLoss', ...trainPairs]);
    expect(ids([sft, dpo])).toEqual(['trainLoss', 'valLoss', ...trainPairs, ...trainPairs.map((n) => `eval_${n}`)]);
    // Each offer draws its own numbers: the held-out reward accuracy of the DPO run.
    const heldOutAccuracy = COMPARED_METRICS.find((m) => m.id === 'eval_rewards/accuracies')!;
    expect(heldOutAccuracy.label).toBe('reward accuracy, held-out pairs (eval_rewards/accuracies)');
    expect(seriesOf(dpo, heldOutAccuracy.key)).toEqual({ steps: [2], values: [0.5] });
  });

  it('aligns series on a shared x axis with nulls where a series has no point', () => {
    expect(align([seriesOf(pts, 'trainLoss'), seriesOf(pts, 'valLoss')])).toEqual([[1, 2, 3], [3, null, 2.5], [null, 2.9, null]]);
  });

  it('thins long series but keeps ends and spikes', () => {
    const n = 10_000;
    const s = { steps: Array.from({ length: n }, (_, i) => i), values: Array.from({ length: n }, (_, i) => (i === 4321 ? 99 : Math.sin(i))) };
    const t = thin(s, 500);
    expect(t.steps.length).toBeLessThanOrEqual(500);
    expect(t.steps[0]).toBe(0);
    expect(t.steps.at(-1)).toBe(n - 1);
    expect(t.values).toContain(99);
    expect(t.steps).toEqual([...t.steps].sort((a, b) => a - b));
    const short = { steps: [1, 2], values: [1, 2] };
    expect(thin(short, 500)).toBe(short);
  });
});

describe('small formatting rules', () => {
  it('estimates the time left from the pace between measured steps, not counting the slow first step', () => {
    // Step 1 ends 30 s after Start (loading + kernel compilation); then 1 s per step.
    const pts = Array.from({ length: 10 }, (_, i) => ({ step: i + 1, time: 30_000 + i * 1000 }));
    expect(etaFromPoints(pts, 100)).toBeCloseTo(90);
    expect(etaFromPoints(pts.slice(0, 1), 100)).toBeNull();
    expect(etaFromPoints([], 100)).toBeNull();
    expect(etaFromPoints([...pts, { step: 100, time: 200_000 }], 100)).toBe(0);
    // Only the last steps set the pace: a long pause early on fades out.
    const paused = [{ step: 1, time: 0 }, ...Array.from({ length: 30 }, (_, i) => ({ step: i + 2, time: 600_000 + i * 2000 }))];
    expect(etaFromPoints(paused, 131)).toBeCloseTo(200);
    expect(formatDuration(3725)).toBe('1 h 2 min');
    expect(formatDuration(75)).toBe('1 min 15 s');
    expect(formatDuration(null)).toBe('—');
  });
  it('makes file names safe', () => {
    expect(safeFileName('My run: v2/final?')).toBe('My-run-v2-final');
    expect(safeFileName('///')).toBe('adapter');
  });
});

describe('lastLosses', () => {
  it('takes the newest train and validation loss by step, skipping steps that did not measure one', () => {
    const p = (step: number, trainLoss?: number, valLoss?: number) => ({ runId: 'r', step, time: step, trainLoss, valLoss });
    expect(lastLosses([p(3, 1.5), p(1, 3, 2.9), p(2, 2, 2.1), p(4, Number.NaN)])).toEqual({ lastTrainLoss: 1.5, lastValLoss: 2.1 });
    expect(lastLosses([p(1, 2)])).toEqual({ lastTrainLoss: 2 });
    expect(lastLosses([])).toEqual({});
    expect(formatLoss(1.23456)).toBe('1.235');
    expect(formatLoss(undefined)).toBe('—');
  });
});
