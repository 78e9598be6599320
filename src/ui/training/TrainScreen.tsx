import { useEffect, useMemo } from 'react';
import { useDataset } from '../../store/dataset';
import { useModel } from '../../store/model';
import { useRuns } from '../../store/runs';
import { useSeqLen, useTrain } from '../../store/training';
import { canResume, etaFromPoints, formatDuration, formatLoss, lastLosses } from '../../persist/lifecycle';
import { objectiveDataProblem, objectivesOffFor, validateSettings } from '../../worker/settings';
import { ErrorBox } from '../common/ErrorBox';
import { formatExampleCount } from '../common/format';
import { Settings } from './Settings';
import { LiveCharts } from './LiveCharts';

export function TrainScreen() {
  const { settings, live, error, starting, samplePrompts, setSamplePrompts, start, resume, pause, stop, planned, plan, objectiveNote } = useTrain();
  const saved = useDataset((s) => s.saved);
  const savedKindError = useDataset((s) => s.savedKindError);
  const learnSavedKind = useDataset((s) => s.learnSavedKind);
  // A dataset saved by an older version does not say whether it holds pairs: its stored file does.
  useEffect(() => {
    void learnSavedKind();
  }, [saved, learnSavedKind]);
  const model = useModel((s) => s.model);
  const { runs, refresh, metrics, loadMetrics } = useRuns();
  useEffect(() => {
    void refresh();
  }, [refresh, live?.status]);

  // Without a live run (e.g. after a reload) the newest run's stored curves are shown.
  const latest = runs[0];
  useEffect(() => {
    if (!live && latest) void loadMetrics(latest.id);
  }, [live, latest, loadMetrics]);
  const shownPoints = useMemo(() => live?.points ?? (latest ? metrics[latest.id] : undefined) ?? [], [live, latest, metrics]);

  const seqLen = useSeqLen();
  // Pairs need DPO/ORPO and single answers SFT: said at the objective before a run is started (the session refuses it too).
  const dataProblem = saved?.pairs === undefined ? null : objectiveDataProblem({ pairs: saved.pairs, count: saved.examples }, settings.objective);
  // The objectives the dataset cannot train stay listed, disabled, with why (choosing the dataset switched away from them).
  const pairs = saved?.pairs;
  const offObjectives = useMemo(() => (pairs === undefined ? {} : objectivesOffFor(pairs)), [pairs]);
  // A sequence length past the model's positions is refused here, before any work starts.
  const errors = { ...validateSettings(settings), ...(seqLen.error ? { seqLen: seqLen.error } : {}), ...(dataProblem ? { objective: `Cannot start: ${dataProblem}.` } : {}) };
  const valid = Object.keys(errors).length === 0;
  // Planned steps come from the worker's session plan (split, packing, accumulation), as the run will take them.
  useEffect(() => {
    if (saved && valid) void plan(saved.id, model);
  }, [plan, saved, model, settings, valid]);
  const steps = !saved || !valid ? '—' : !planned ? '…' : 'steps' in planned ? planned.steps : `— (${planned.error})`;
  const running = live?.status === 'running';
  // The run on screen is offered for resuming only once it is no longer training (e.g. after a lost device).
  const resumable = runs.filter((r) => canResume(r) && !(r.id === live?.runId && (live.status === 'running' || live.status === 'paused')));
  // Pace from the measured points' own timestamps (no clock reads during render).
  const finished = live ? !['running', 'paused'].includes(live.status) : !!latest;
  const final = useMemo(() => lastLosses(shownPoints), [shownPoints]);
  const eta = useMemo(() => (live ? etaFromPoints(live.points, live.totalSteps) : null), [live]);

  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1}>Train</h1>
      <div className="card" data-testid="train-inputs">
        <dl className="kv">
          <dt>Dataset</dt>
          <dd data-testid="train-dataset">
            {saved ? `${saved.name} — ${formatExampleCount(saved.examples, saved.pairs)}${saved.pairs ? ' (prompt, chosen, rejected)' : ''}` : <a href="#/data">none saved yet — load one on the Data screen</a>}
            {saved?.pairs === undefined && savedKindError && (
              <p className="bad" data-testid="dataset-kind-unknown">
                {savedKindError}
              </p>
            )}
          </dd>
          <dt>Base model</dt>
          <dd>
            <a href="#/model">{model.id}</a>
          </dd>
          <dt>Planned steps</dt>
          <dd data-testid="planned-steps">{steps}</dd>
        </dl>
      </div>

      <Settings
        errors={errors}
        notes={{ ...(seqLen.note ? { seqLen: seqLen.note } : {}), ...(objectiveNote ? { objective: objectiveNote } : saved?.pairs && !dataProblem ? { objective: 'Your dataset holds preference pairs.' } : {}) }}
        offChoices={{ objective: offObjectives }}
        disabled={running}
      />

      <div className="card">
        <label htmlFor="sample-prompts">Prompts to try every {settings.sampleEvery || '—'} steps (one per line)</label>
        <textarea id="sample-prompts" rows={3} value={samplePrompts} onChange={(e) => setSamplePrompts(e.target.value)} placeholder="Held-out prompts: the tuned model answers them while it trains." />
      </div>

      <div className="card" data-testid="train-controls">
        <div className="actions">
          <button type="button" data-testid="start-run" disabled={!saved || !valid || running || starting} onClick={() => saved && void start({ name: `${saved.name} · ${model.id.split('/').pop()}`, datasetId: saved.id, model })}>
            {starting ? 'Starting…' : 'Start training'}
          </button>
          <button type="button" className="secondary" disabled={!running} onClick={() => void pause()}>
            Pause
          </button>
          <button type="button" className="secondary" disabled={!live || live.status !== 'paused'} onClick={() => live && void resume(live.runId)}>
            Resume
          </button>
          <button type="button" className="secondary danger" disabled={!running && live?.status !== 'paused'} onClick={() => void stop()}>
            Stop
          </button>
        </div>
        {seqLen.error && (
          <p className="bad" data-testid="start-blocked">
            Cannot start: {seqLen.error}.
          </p>
        )}
        <ErrorBox error={error} />
        {live && (
          <div role="status" aria-live="polite" data-testid="run-status">
            <progress max={live.totalSteps} value={live.step} aria-label="Training progress" /> step {live.step} / {live.totalSteps} · {live.status} · ETA {formatDuration(eta)}
            {live.message && <p className="muted">{live.message}</p>}
            {live.deviceLost && <p className="bad">The GPU device was lost. The run stopped cleanly at its last checkpoint; resume it below or from Runs.</p>}
          </div>
        )}
        {resumable.length > 0 && (
          <div data-testid="resumable">
            <h3>Interrupted runs</h3>
            <ul>
              {resumable.map((r) => (
                <li key={r.id}>
                  {r.name} — stopped at step {r.step} of {r.totalSteps}, checkpoint at {r.checkpointStep}{' '}
                  <button type="button" className="secondary" disabled={running || starting} onClick={() => void resume(r.id)}>
                    Resume from checkpoint
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>

      {!live && latest && <p className="muted">Curves of the latest run, “{latest.name}” ({latest.status}).</p>}
      {finished && final.lastTrainLoss !== undefined && (
        <p data-testid="final-loss">
          Last train loss <strong>{formatLoss(final.lastTrainLoss)}</strong>
          {final.lastValLoss !== undefined && (
            <>
              {' '}
              · validation loss <strong>{formatLoss(final.lastValLoss)}</strong>
            </>
          )}
        </p>
      )}
      <LiveCharts points={shownPoints} />

      <div className="card" data-testid="samples">
        <h2>Sample generations</h2>
        {!live?.samples.length ? (
          <p className="muted">None yet. Every {settings.sampleEvery || '—'} steps the model answers your held-out prompts here.</p>
        ) : (
          <ol>
            {live.samples.map((s, i) => (
              <li key={i}>
                <span className="muted">step {s.step}:</span> <strong>{s.prompt}</strong>
                {s.error !== undefined ? (
                  <p className="bad" data-testid="sample-error">Could not generate this sample: {s.error}</p>
                ) : (
                  <pre className="output">{s.output}</pre>
                )}
              </li>
            ))}
          </ol>
        )}
      </div>
    </section>
  );
}
