import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Example } from '../data';
import type { EvaluationRecord, RunRecord } from '../persist/records';
import { withDefaults } from './settings';

// The database, the model on the GPU and generation are stand-ins: what is tested is the
// orchestration (which rows are held out, where shots come from, which systems answer what, what is stored).
const rows = (n: number, tag: string): Example[] =>
  Array.from({ length: n }, (_, i) => ({ kind: 'chat', row: i, messages: [{ role: 'user', content: `${tag} q${i}` }, { role: 'assistant', content: `${tag} a${i}` }] }));
const state = vi.hoisted(() => ({ datasets: new Map<string, unknown[]>(), saved: [] as unknown[], prompts: new Map<string, unknown[][]>() }));
const run = vi.hoisted(() => ({ current: null as unknown }));
vi.mock('../persist/repo', () => ({
  getRun: vi.fn(async () => run.current),
  getAdapter: vi.fn(async (id: string) => (id === 'other' ? { id, name: 'older run', baseModel: 'tiny' } : id === 'alien' ? { id, name: 'x', baseModel: 'big' } : undefined)),
  saveEvaluation: vi.fn(async (r: unknown) => void state.saved.push(r)),
}));
vi.mock('./dataset-service', () => ({
  trainingExamples: vi.fn(async (id: string) => {
    const examples = state.datasets.get(id)!;
    return { examples, data: { file: `${id}.jsonl`, sha256: '0'.repeat(64), excludeInvalid: false, dedupe: false, examples: examples.length } };
  }),
}));
vi.mock('./generation-service', () => ({
  loadBase: vi.fn(async () => ({ model: {}, tok: {} })),
  loadAdapter: vi.fn(async (_l: unknown, id: string) => ({ id })),
}));
vi.mock('../data', async (orig) => ({
  ...(await orig<typeof import('../data')>()),
  tokenizeExamples: vi.fn(async (_tok: unknown, ex: Example[]) => ({ examples: ex.map((e) => ({ row: e.row, inputIds: new Int32Array(2), labels: new Int32Array(2) })), errors: [], pairs: [] })),
}));
// The base echoes nothing useful; an adapter answers with the reference's format ("<tag> a<i>").
vi.mock('../train/held-out', () => ({
  greedyAnswers: vi.fn(async (m: { lora: { id: string } | null }, prompts: { role: string; content: string }[][], o: { onProgress?: (d: number) => void; signal?: AbortSignal }) => {
    state.prompts.set(m.lora?.id ?? `base${state.prompts.size}`, prompts);
    o.onProgress?.(prompts.length);
    return prompts.map((p) => (m.lora ? p.at(-1)!.content.replace(' q', ' a') : 'no idea'));
  }),
  referenceLoss: vi.fn(async (m: { lora: unknown }) => ({ loss: m.lora ? 1 : 3, targets: 10, perplexity: Math.exp(m.lora ? 1 : 3) })),
}));

const svc = await import('./evaluation-service');
const { TrainingSession } = await import('../train/session');

const RUN = { id: 'run-1', name: 'format tune', model: { id: 'tiny', source: 'local' }, datasetId: 'train-ds', adapterId: 'tuned', settings: withDefaults({ valSplit: 0.2, seed: 3 } as never) } as RunRecord;
const REQ: Parameters<typeof svc.evaluateRun>[2] = { runId: 'run-1', source: { kind: 'validation' }, otherAdapterIds: [], metrics: [], maxNewTokens: 16, shots: 2, systemPrompt: 'Answer tersely.', fewShotText: '', seed: 0, referenceLoss: true };
const ctx = {} as never;

describe('evaluation service (the worker)', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    state.datasets.set('train-ds', rows(20, 'train'));
    state.saved.length = 0;
    state.prompts.clear();
    run.current = RUN;
  });

  it('evaluates the run’s own validation split; shots come from its training rows; the result is stored with the run', async () => {
    const progress: { done: number; total: number; etaMs: number | null }[] = [];
    const rec = await svc.evaluateRun(ctx, 'job', REQ, (p) => progress.push(p));
    const { val } = TrainingSession.split(rows(20, 'train'), RUN.settings);
    expect(rec.result.n).toBe(val.length);
    expect(rec.result.examples.map((e) => e.row)).toEqual(val.map((e) => e.row));
    expect(rec.result.systems.map((s) => [s.name, s.kind])).toEqual([
      ['base', 'base'],
      ['prompted', 'prompted'],
      ['format tune', 'tuned'],
    ]);
    // The prompted baseline: system prompt, 2 shots (training rows only), then the item.
    const promptedPrompts = state.prompts.get('base1')! as { role: string; content: string }[][];
    const valQuestions = new Set(val.map((e) => e.messages[0].content));
    for (const p of promptedPrompts) {
      expect(p[0]).toEqual({ role: 'system', content: 'Answer tersely.' });
      expect(p).toHaveLength(1 + 2 * 2 + 1);
      for (const shot of [p[1], p[3]]) expect(valQuestions.has(shot.content)).toBe(false);
    }
    expect(rec.result.systems[2].aggregates[rec.result.metrics[0].id].mean).toBe(1);
    expect(rec.result.systems[0]).toMatchObject({ loss: 3, targets: 10 });
    expect(rec.result.verdicts[0]).toMatchObject({ a: 'format tune', b: 'prompted' });
    expect(state.saved).toEqual([rec]);
    expect(rec).toMatchObject({ runId: 'run-1', source: { kind: 'validation' }, settings: { shots: 2, maxNewTokens: 16 } });
    expect(progress.at(-1)).toMatchObject({ done: 3 * 2 * val.length, total: 3 * 2 * val.length, etaMs: 0 });
  });

  it('the studio’s written few-shot examples come first in the prompted baseline, then the drawn ones; one asking a held-out question is refused', async () => {
    const written = 'user: written question\nassistant: written answer';
    const rec = await svc.evaluateRun(ctx, 'job', { ...REQ, shots: 1, systemPrompt: '', fewShotText: written });
    const { train, val } = TrainingSession.split(rows(20, 'train'), RUN.settings);
    const trainQuestions = new Set(train.map((e) => e.messages[0].content));
    for (const p of state.prompts.get('base1')! as { role: string; content: string }[][]) {
      expect(p.slice(0, 2)).toEqual([
        { role: 'user', content: 'written question' },
        { role: 'assistant', content: 'written answer' },
      ]);
      expect(trainQuestions.has(p[2].content)).toBe(true);
      expect(p).toHaveLength(2 + 2 + 1);
    }
    expect(rec.settings).toMatchObject({ shots: 1, systemPrompt: '', fewShotText: written });
    // Written examples alone make a prompted baseline.
    const alone = await svc.evaluateRun(ctx, 'job', { ...REQ, shots: 0, systemPrompt: '', fewShotText: written });
    expect(alone.result.systems.map((s) => s.kind)).toEqual(['base', 'prompted', 'tuned']);
    const none = await svc.evaluateRun(ctx, 'job', { ...REQ, shots: 0, systemPrompt: ' ', fewShotText: '' });
    expect(none.result.systems.map((s) => s.kind)).toEqual(['base', 'tuned']);
    state.saved.length = 0;
    const leak = `user: ${val[0].messages[0].content}\nassistant: anything`;
    await expect(svc.evaluateRun(ctx, 'job', { ...REQ, fewShotText: leak })).rejects.toThrow(`Few-shot example 1 asks the question of evaluation row ${val[0].row}`);
    await expect(svc.evaluateRun(ctx, 'job', { ...REQ, fewShotText: 'user: dangling' })).rejects.toThrow('Few-shot example 1 has a user turn without an assistant answer after it.');
    expect(state.saved).toEqual([]);
  });

  it('a separate dataset: refused when it shares an example with the training rows', async () => {
    state.datasets.set('leaky', rows(3, 'train'));
    await expect(svc.evaluateRun(ctx, 'job', { ...REQ, source: { kind: 'dataset', datasetId: 'leaky', datasetName: 'leaky.jsonl' } })).rejects.toThrow(/“leaky.jsonl”: The evaluation set is not held out/);
    state.datasets.set('fresh', rows(5, 'fresh'));
    const rec = await svc.evaluateRun(ctx, 'job', { ...REQ, source: { kind: 'dataset', datasetId: 'fresh', datasetName: 'fresh.jsonl' }, otherAdapterIds: ['other'], autoMetrics: true, metrics: ['contains:fresh'] });
    expect(rec.result.n).toBe(5);
    // Chosen from the references (text answers), then the user's substring check.
    expect(rec.result.metrics.map((m) => m.id)).toEqual(['em_norm', 'f1', 'length', 'contains:fresh']);
    expect(rec.result.systems.map((s) => s.name)).toEqual(['base', 'prompted', 'format tune', 'older run']);
    expect(state.saved).toHaveLength(1);
  });

  it('refuses what cannot be compared or run, and stores nothing', async () => {
    await expect(svc.evaluateRun(ctx, 'job', { ...REQ, otherAdapterIds: ['alien'] })).rejects.toThrow('trained on big, not on tiny');
    run.current = { ...RUN, adapterId: null };
    await expect(svc.evaluateRun(ctx, 'job', REQ)).rejects.toThrow('has no adapter yet');
    run.current = { ...RUN, settings: { ...RUN.settings, valSplit: 0 } };
    await expect(svc.evaluateRun(ctx, 'job', REQ)).rejects.toThrow('kept no validation split');
    run.current = RUN;
    await expect(svc.evaluateRun(ctx, 'job', { ...REQ, maxNewTokens: 0 })).rejects.toThrow('Max new tokens');
    await expect(svc.evaluateRun(ctx, 'job', { ...REQ, metrics: ['bleu'] })).rejects.toThrow('unknown metric "bleu"');
    expect(state.saved).toEqual([] as EvaluationRecord[]);
  });

  it('cancel: stops between systems, stores nothing, and frees the GPU for other work', async () => {
    const { cancelJob } = await import('./jobs');
    const p = svc.evaluateRun(ctx, 'job-c', REQ, (pr) => {
      if (pr.phase === 'answers' && pr.done > 0) cancelJob('job-c');
    });
    expect(svc.evaluationRunning()).toBe(true);
    await expect(p).rejects.toThrow('Cancelled');
    expect(state.saved).toEqual([]);
    expect(svc.evaluationRunning()).toBe(false);
  });
});
