// The rules of a run's life that do not need a database: what a reload means for a run,
// what can be resumed, how curves are thinned for charts. Unit-tested in Node.
import type { MetricPoint, PreferenceMetrics, RunRecord, RunStatus } from './records';

/** A 'running' run that is not the one training now was cut off (reload, crash, device loss). */
export function markInterrupted(r: RunRecord, activeRunId: string | null): RunRecord {
  if ((r.status === 'running') && r.id !== activeRunId) return { ...r, status: 'interrupted' };
  return r;
}

/** Runs that can continue: paused, stopped early or interrupted, with a checkpoint to start from. */
export function canResume(r: Pick<RunRecord, 'status' | 'checkpointStep' | 'step' | 'totalSteps'>): boolean {
  const resumable: RunStatus[] = ['paused', 'interrupted', 'stopped', 'failed'];
  return resumable.includes(r.status) && r.checkpointStep !== null && r.checkpointStep < r.totalSteps;
}

/**
 * Why a run cannot be deleted now, or null when it can. The run the worker trains, holds
 * paused or is resuming keeps writing its metrics and checkpoints under its id. The worker
 * refuses with this message; the Runs screen shows it on the disabled Delete button.
 */
export function deleteRunRefusal(runId: string, activeRunId: string | null): string | null {
  return runId === activeRunId ? 'This run is in use (training, paused or resuming). Stop it on the Train screen before deleting it.' : null;
}

/** Why a run cannot be exported as an Axolotl/TRL recipe, or null when it can (the Runs screen and the worker ask). */
export function recipeRefusal(r: Pick<RunRecord, 'status' | 'trainingRecord'>): string | null {
  if (r.status !== 'completed') return 'Only a completed run can be exported as a recipe.';
  if (!r.trainingRecord) return 'This run was stored before runs kept their training record; train it again to export it as a recipe.';
  return null;
}

export interface Series {
  steps: number[];
  values: (number | null)[];
}

/** What one training step measured (train/'s StepMetrics), as the worker receives it. */
export interface MeasuredStep {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  valLoss?: number;
  preference?: PreferenceMetrics;
  valPreference?: PreferenceMetrics;
}

/** The stored point of a measured step: every measured number, held-out ones only where the step was evaluated. */
export function metricPointOf(runId: string, m: MeasuredStep, time: number): MetricPoint {
  return {
    runId, step: m.step, time, trainLoss: m.loss, lr: m.lr, gradNorm: m.gradNorm, tokensPerSec: m.tokensPerSec,
    ...(m.valLoss !== undefined && { valLoss: m.valLoss }),
    ...(m.preference && { preference: { ...m.preference } }),
    ...(m.valPreference && { valPreference: { ...m.valPreference } }),
  };
}

/** A number a metric point holds: one of its scalar fields, or a preference metric of its training or held-out pairs. */
export type MetricKey = 'trainLoss' | 'valLoss' | 'lr' | 'gradNorm' | 'tokensPerSec' | { of: 'preference' | 'valPreference'; name: keyof PreferenceMetrics };

const metricOf = (p: MetricPoint, key: MetricKey): number | undefined => (typeof key === 'string' ? p[key] : p[key.of]?.[key.name]);

/** One metric of a run as (step, value) pairs, sorted by step, missing measurements dropped. */
export function seriesOf(points: readonly MetricPoint[], key: MetricKey): Series {
  const sorted = points
    .map((p) => ({ step: p.step, v: metricOf(p, key) }))
    .filter((p): p is { step: number; v: number } => typeof p.v === 'number' && Number.isFinite(p.v))
    .sort((a, b) => a.step - b.step);
  return { steps: sorted.map((p) => p.step), values: sorted.map((p) => p.v) };
}

/** TRL's preference metrics in the order TRL logs them (DPO and ORPO runs). */
export const PREFERENCE_NAMES: readonly (keyof PreferenceMetrics)[] = ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected'];

const PREFERENCE_LABELS: Record<keyof PreferenceMetrics, string> = {
  'rewards/chosen': 'chosen reward',
  'rewards/rejected': 'rejected reward',
  'rewards/accuracies': 'reward accuracy',
  'rewards/margins': 'reward margin',
  'logps/chosen': 'log-probability of the chosen answer',
  'logps/rejected': 'log-probability of the rejected answer',
};

/** What the Runs screen can compare across runs: the losses, and a preference run's metrics on its training and held-out pairs. */
export const COMPARED_METRICS: readonly { id: string; label: string; key: MetricKey }[] = [
  { id: 'trainLoss', label: 'train loss', key: 'trainLoss' },
  { id: 'valLoss', label: 'validation loss', key: 'valLoss' },
  ...(['preference', 'valPreference'] as const).flatMap((of) =>
    PREFERENCE_NAMES.map((name) => {
      // TRL's name as it logs it: held-out metrics with its eval_ prefix.
      const id = of === 'preference' ? name : `eval_${name}`;
      return { id, label: `${PREFERENCE_LABELS[name]}, ${of === 'preference' ? 'training' : 'held-out'} pairs (${id})`, key: { of, name } };
    }),
  ),
];

/** The compared metrics at least one of the runs measured (an SFT run has no rewards, a run without a validation split no validation loss). */
export function comparableMetrics(runs: readonly (readonly MetricPoint[])[]): typeof COMPARED_METRICS {
  return COMPARED_METRICS.filter((m) => runs.some((points) => points.some((p) => Number.isFinite(metricOf(p, m.key)))));
}

/**
 * Thins a series to at most `max` points for drawing, keeping the first and last point and
 * the min and max of every bucket (so spikes stay visible).
 */
export function thin(s: Series, max: number): Series {
  const n = s.steps.length;
  if (n <= max || max < 4) return s;
  const buckets = Math.floor((max - 2) / 2);
  const keep = new Set<number>([0, n - 1]);
  for (let b = 0; b < buckets; b++) {
    const lo = 1 + Math.floor(((n - 2) * b) / buckets);
    const hi = 1 + Math.floor(((n - 2) * (b + 1)) / buckets);
    let iMin = -1;
    let iMax = -1;
    for (let i = lo; i < hi; i++) {
      const v = s.values[i];
      if (v === null) continue;
      if (iMin < 0 || v < (s.values[iMin] as number)) iMin = i;
      if (iMax < 0 || v > (s.values[iMax] as number)) iMax = i;
    }
    if (iMin >= 0) keep.add(iMin);
    if (iMax >= 0) keep.add(iMax);
  }
  const idx = [...keep].sort((a, b) => a - b);
  return { steps: idx.map((i) => s.steps[i]), values: idx.map((i) => s.values[i]) };
}

/**
 * Several series on one shared, sorted x axis (uPlot's aligned-data layout); a series with
 * no value at a step gets null there.
 */
export function align(series: readonly Series[]): [number[], ...(number | null)[][]] {
  const xs = [...new Set(series.flatMap((s) => s.steps))].sort((a, b) => a - b);
  const pos = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array(xs.length).fill(null);
    s.steps.forEach((st, i) => (y[pos.get(st)!] = s.values[i]));
    return y;
  });
  return [xs, ...ys];
}

/** The newest train and validation loss among `points` (each may be missing). */
export function lastLosses(points: readonly MetricPoint[]): Pick<RunRecord, 'lastTrainLoss' | 'lastValLoss'> {
  const last = (key: 'trainLoss' | 'valLoss') => {
    const s = seriesOf(points, key);
    return s.values.length ? (s.values.at(-1) as number) : undefined;
  };
  const out: Pick<RunRecord, 'lastTrainLoss' | 'lastValLoss'> = {};
  const train = last('trainLoss');
  const val = last('valLoss');
  if (train !== undefined) out.lastTrainLoss = train;
  if (val !== undefined) out.lastValLoss = val;
  return out;
}

/** A loss as shown in tables and summaries. */
export function formatLoss(loss: number | undefined): string {
  return loss === undefined ? '—' : loss.toFixed(3);
}

/** How many recent steps the pace is measured over (a pause or a slow start fades out). */
const ETA_WINDOW = 20;

/**
 * Seconds left, from the pace between measured steps; null until two steps are measured.
 * The clock starts at the first measured step, never at Start: loading the model and the first
 * step (which compiles every GPU kernel) would otherwise inflate early estimates 2–3×.
 */
export function etaFromPoints(points: readonly Pick<MetricPoint, 'step' | 'time'>[], totalSteps: number): number | null {
  const last = points.at(-1);
  if (last && last.step >= totalSteps) return 0;
  const from = points[Math.max(0, points.length - 1 - ETA_WINDOW)];
  if (!last || !from || last.step <= from.step || last.time < from.time) return null;
  return ((totalSteps - last.step) * (last.time - from.time)) / 1000 / (last.step - from.step);
}

export function formatDuration(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec)) return '—';
  const s = Math.round(sec);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** A file name safe on every OS, from a user-chosen adapter or run name. */
export function safeFileName(name: string, fallback = 'adapter'): string {
  const s = name.normalize('NFKD').replace(/[^\w.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 80);
  return s || fallback;
}
