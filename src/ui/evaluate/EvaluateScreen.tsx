// Does the tune beat the prompt? A run's adapter, the base model and the prompted baseline answer
// the same held-out prompts in the worker; the scores, intervals, paired wins and the verdict are
// shown here and stored with the run (compared across runs on the Runs screen).
import { useEffect, useMemo, useState } from 'react';
import { useRuns } from '../../store/runs';
import { useEvaluation } from '../../store/evaluation';
import { errorMessage, trainer, type EvaluateRequest } from '../../worker/client';
import type { EvaluationRecord } from '../../persist/records';
import { ErrorBox } from '../common/ErrorBox';
import { Field } from '../common/Field';
import { download, formatExampleCount } from '../common/format';
import { markDifferences } from './highlight';
import { filterRows, headlineMetric, type RowFilter } from './rows';

type Result = EvaluationRecord['result'];
const fmt = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(3));
const COLORS = ['#868e96', '#d9480f', '#2f6fdf', '#2b8a3e', '#7b3fc4', '#c2255c'];

function formatEta(ms: number | null): string {
  if (ms === null) return 'estimating time left…';
  const s = Math.round(ms / 1000);
  return s < 60 ? `about ${s} s left` : `about ${Math.round(s / 60)} min left`;
}

/** Each system's mean on the headline metric with its 95% interval, as bars on a shared 0–max scale. */
function ScoreBars({ r, metric }: { r: Result; metric: string }) {
  const max = Math.max(1e-9, ...r.systems.map((s) => s.aggregates[metric].hi));
  const label = r.metrics.find((m) => m.id === metric)!.label;
  return (
    <figure className="score-bars" data-testid="score-bars" aria-label={`${label} by system`}>
      <figcaption>{label} (bars: mean; lines: 95% interval)</figcaption>
      {r.systems.map((s, i) => {
        const a = s.aggregates[metric];
        return (
          <div key={s.name} className="bar-row">
            <span className="bar-name">{s.name}</span>
            <span className="bar-track">
              <span className="bar" style={{ width: `${(a.mean / max) * 100}%`, background: COLORS[i % COLORS.length] }} />
              <span className="bar-ci" style={{ left: `${(a.lo / max) * 100}%`, width: `${Math.max(0, (a.hi - a.lo) / max) * 100}%` }} />
            </span>
            <span className="bar-value">{fmt(a.mean)}</span>
          </div>
        );
      })}
    </figure>
  );
}

function Results({ rec }: { rec: EvaluationRecord }) {
  const r = rec.result;
  const tunes = r.systems.filter((s) => s.kind === 'tuned');
  const [tuned, setTuned] = useState(tunes[0]?.name ?? '');
  const [filter, setFilter] = useState<RowFilter>('all');
  const [error, setError] = useState<string | null>(null);
  const metric = headlineMetric(r);
  const rows = filterRows(r, filter, tuned);
  const hasLoss = r.systems.some((s) => s.loss !== undefined);
  async function save(format: 'json' | 'aggregates.csv' | 'examples.csv') {
    try {
      const { fileName, text } = await trainer().exportEvaluation(rec.id, format);
      download(new TextEncoder().encode(text), fileName, format === 'json' ? 'application/json' : 'text/csv');
    } catch (e) {
      setError(errorMessage(e));
    }
  }
  return (
    <section className="card" data-testid="eval-results">
      <h2>Results</h2>
      <p className="muted small">
        {r.n} held-out examples ({rec.source.kind === 'validation' ? 'the run’s validation split' : rec.source.datasetName}){r.skipped_rows.length ? `, ${r.skipped_rows.length} rows skipped (nothing to grade)` : ''}; greedy, at most {rec.settings.maxNewTokens} new tokens; 95% bootstrap intervals.
      </p>
      {r.verdicts.map((v) => (
        <p key={v.adapter ?? 'none'} className="verdict" data-testid="verdict">
          <strong>{tunes.length > 1 && v.adapter ? `${v.adapter}: ` : ''}</strong>
          {v.text}
        </p>
      ))}
      <div className="table-scroll">
        <table data-testid="eval-scores">
          <thead>
            <tr>
              <th>System</th>
              {r.metrics.map((m) => (
                <th key={m.id}>{m.label}</th>
              ))}
              {hasLoss && <th>Reference loss (perplexity)</th>}
            </tr>
          </thead>
          <tbody>
            {r.systems.map((s) => (
              <tr key={s.name} data-system={s.name}>
                <th scope="row">{s.name}</th>
                {r.metrics.map((m) => (
                  <td key={m.id} data-metric={m.id}>
                    {fmt(s.aggregates[m.id].mean)} <span className="muted small">[{fmt(s.aggregates[m.id].lo)}, {fmt(s.aggregates[m.id].hi)}]</span>
                  </td>
                ))}
                {hasLoss && <td>{s.loss === undefined ? '—' : `${fmt(s.loss)} (${fmt(s.perplexity)})`}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ScoreBars r={r} metric={metric} />
      <h3>Paired comparisons</h3>
      <ul data-testid="eval-comparisons">
        {r.comparisons.map((c) => (
          <li key={`${c.a}|${c.b}|${c.metric}`}>
            {c.a} vs {c.b} ({r.metrics.find((m) => m.id === c.metric)!.label}): <strong>{c.wins}</strong> wins, {c.ties} ties, {c.losses} losses; difference {fmt(c.diff.mean)} [{fmt(c.diff.lo)}, {fmt(c.diff.hi)}]
          </li>
        ))}
      </ul>
      <div className="actions">
        <button type="button" className="secondary" onClick={() => void save('aggregates.csv')}>
          Scores (.csv)
        </button>
        <button type="button" className="secondary" onClick={() => void save('examples.csv')}>
          Examples (.csv)
        </button>
        <button type="button" className="secondary" onClick={() => void save('json')}>
          Everything (.json)
        </button>
      </div>
      <ErrorBox error={error} />
      <h3>Examples</h3>
      <div className="actions">
        <Field label="Show">
          {(id) => (
            <select id={id} value={filter} onChange={(e) => setFilter(e.target.value as RowFilter)} data-testid="eval-filter">
              <option value="all">all examples</option>
              <option value="disagree">where the systems disagree</option>
              <option value="worse">where the tune scored worse</option>
            </select>
          )}
        </Field>
        {tunes.length > 1 && (
          <Field label="Tune">
            {(id) => (
              <select id={id} value={tuned} onChange={(e) => setTuned(e.target.value)}>
                {tunes.map((t) => (
                  <option key={t.name}>{t.name}</option>
                ))}
              </select>
            )}
          </Field>
        )}
      </div>
      <p className="muted small">
        {rows.length} of {r.n} shown; highlighted: words the reference does not have. Scores: {r.metrics.find((m) => m.id === metric)!.label}.
      </p>
      <div className="table-scroll">
        <table className="eval-examples" data-testid="eval-examples">
          <thead>
            <tr>
              <th>Prompt</th>
              <th>Reference</th>
              {r.systems.map((s) => (
                <th key={s.name}>{s.name}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.index}>
                <td className="pre">{e.prompt}</td>
                <td className="pre">{e.reference}</td>
                {r.systems.map((s) => (
                  <td key={s.name} className="pre">
                    {markDifferences(e.predictions[s.name], e.reference).map((p, i) => (p.differs ? <mark key={i}>{p.text}</mark> : p.text))}
                    <div className="muted small">{fmt(e.scores[s.name][metric])}</div>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function EvaluateScreen() {
  const { runs, adapters, refresh } = useRuns();
  const { systemPrompt, setSystemPrompt, fewShotText, setFewShotText, form, setForm, running, error, byRun, load, start, cancel, datasets, loadDatasets } = useEvaluation();
  const [catalog, setCatalog] = useState<{ id: string; label: string }[]>([]);
  const evaluable = runs.filter((r) => r.adapterId);
  const [runId, setRunId] = useState('');
  const run = evaluable.find((r) => r.id === (runId || running?.runId)) ?? evaluable[0];
  // The choices live in the store: leaving the screen while an evaluation runs loses none of them.
  const { source, others, auto, picked, regex, contains, maxNewTokens, shots, seed, withLoss } = form;
  const setSource = (source: string) => setForm({ source });
  const setOthers = (others: string[]) => setForm({ others });
  const setAuto = (auto: boolean) => setForm({ auto });
  const setPicked = (picked: string[]) => setForm({ picked });
  const setRegex = (regex: string) => setForm({ regex });
  const setContains = (contains: string) => setForm({ contains });
  const setMaxNewTokens = (maxNewTokens: number) => setForm({ maxNewTokens });
  const setShots = (shots: number) => setForm({ shots });
  const setSeed = (seed: number) => setForm({ seed });
  const setWithLoss = (withLoss: boolean) => setForm({ withLoss });
  const [shownId, setShownId] = useState<string | null>(null);

  useEffect(() => {
    void refresh();
    void loadDatasets();
    void trainer()
      .metricCatalog()
      .then(setCatalog)
      .catch(() => undefined);
  }, [refresh, loadDatasets]);
  useEffect(() => {
    if (run) void load(run.id);
  }, [run, load]);

  const history = run ? (byRun[run.id] ?? []) : [];
  const shown = history.find((e) => e.id === shownId) ?? history[0];
  const sameBase = useMemo(() => adapters.filter((a) => run && a.baseModel === run.model.id && a.id !== run.adapterId), [adapters, run]);

  async function onRun() {
    if (!run) return;
    const ds = datasets.find((d) => d.id === source);
    const metrics = [...(auto ? [] : picked), ...(regex.trim() ? [`regex:${regex.trim()}`] : []), ...(contains ? [`contains:${contains}`] : [])];
    const req: EvaluateRequest = {
      runId: run.id,
      source: ds ? { kind: 'dataset', datasetId: ds.id, datasetName: ds.name } : { kind: 'validation' },
      otherAdapterIds: others.filter((id) => sameBase.some((a) => a.id === id)),
      metrics,
      autoMetrics: auto,
      maxNewTokens,
      shots,
      systemPrompt,
      fewShotText,
      seed,
      referenceLoss: withLoss,
    };
    const rec = await start(req);
    if (rec) setShownId(rec.id);
  }

  const p = running?.progress;
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1}>
        Evaluate: does the tune beat the prompt?
      </h1>
      <p>
        Does the tune beat a careful prompt? The base model, the prompted baseline (the Playground’s system prompt and examples, plus examples drawn from the training rows) and the tuned adapter answer the same held-out prompts, greedily; the scores are compared example by example. Nothing leaves this device.
      </p>
      {evaluable.length === 0 ? (
        <p className="muted" data-testid="eval-no-runs">
          No run has an adapter yet. Train one on the <a href="#/train">Train screen</a>.
        </p>
      ) : (
        <form
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            void onRun();
          }}
        >
          <div className="grid2">
            <Field label="Run">
              {(id) => (
                <select id={id} value={run?.id ?? ''} onChange={(e) => (setRunId(e.target.value), setOthers([]), setShownId(null))} data-testid="eval-run">
                  {evaluable.map((r) => (
                    <option key={r.id} value={r.id}>
                      {r.name} ({r.model.id}, {r.status})
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Evaluation set" hint="The validation split was never trained on. Another saved dataset is checked for overlap with the run's training rows.">
              {(id, d) => (
                <select id={id} aria-describedby={d} value={source} onChange={(e) => setSource(e.target.value)} data-testid="eval-source">
                  <option value="validation">the run’s validation split</option>
                  {datasets
                    .filter((ds) => ds.id !== run?.datasetId)
                    .map((ds) => (
                      <option key={ds.id} value={ds.id}>
                        {ds.name} ({formatExampleCount(ds.examples, ds.pairs)})
                      </option>
                    ))}
                </select>
              )}
            </Field>
            <Field label="Max new tokens">{(id) => <input id={id} type="number" min={1} max={4096} value={maxNewTokens} onChange={(e) => setMaxNewTokens(Number(e.target.value))} />}</Field>
            <Field label="Seed" hint="Draws the few-shot examples and the bootstrap.">{(id, d) => <input id={id} aria-describedby={d} type="number" min={0} value={seed} onChange={(e) => setSeed(Number(e.target.value))} />}</Field>
          </div>
          <fieldset>
            <legend>Prompted baseline</legend>
            <p className="muted small">The Playground’s baseline prompt (the same one: edit it here or there), plus examples drawn from the run’s training rows. None of them may come from the evaluation set. Blank, none written and 0 drawn: no prompted baseline.</p>
            <Field label="Baseline system prompt">{(id) => <textarea id={id} rows={2} value={systemPrompt} onChange={(e) => setSystemPrompt(e.target.value)} />}</Field>
            <Field label="Few-shot examples" hint="Lines starting with “user:” and “assistant:”; each answer closes an example.">
              {(id, d) => <textarea id={id} aria-describedby={d} rows={3} value={fewShotText} onChange={(e) => setFewShotText(e.target.value)} placeholder={'user: …\nassistant: …'} />}
            </Field>
            <Field label="Examples drawn from the training rows" hint="Seeded by the seed above; never from the evaluation set.">
              {(id, d) => <input id={id} aria-describedby={d} type="number" min={0} max={64} value={shots} onChange={(e) => setShots(Number(e.target.value))} />}
            </Field>
          </fieldset>
          {sameBase.length > 0 && (
            <fieldset>
              <legend>Other adapters of {run?.model.id}</legend>
              {sameBase.map((a) => (
                <label key={a.id} className="check">
                  <input type="checkbox" checked={others.includes(a.id)} onChange={(e) => setOthers(e.target.checked ? [...others, a.id] : others.filter((x) => x !== a.id))} /> {a.name}
                </label>
              ))}
            </fieldset>
          )}
          <fieldset>
            <legend>Metrics</legend>
            <label className="check">
              <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} data-testid="eval-auto-metrics" /> Chosen from the references (JSON, short answers or text)
            </label>
            {!auto && (
              <div className="actions">
                {catalog.map((m) => (
                  <label key={m.id} className="check">
                    <input type="checkbox" checked={picked.includes(m.id)} onChange={(e) => setPicked(e.target.checked ? [...picked, m.id] : picked.filter((x) => x !== m.id))} /> {m.label}
                  </label>
                ))}
              </div>
            )}
            <div className="grid2">
              <Field label="Must match (regular expression)" hint="Optional, e.g. ^\{.*\}$">{(id, d) => <input id={id} aria-describedby={d} value={regex} onChange={(e) => setRegex(e.target.value)} />}</Field>
              <Field label="Must contain (text)" hint="Optional.">{(id, d) => <input id={id} aria-describedby={d} value={contains} onChange={(e) => setContains(e.target.value)} />}</Field>
            </div>
            <label className="check">
              <input type="checkbox" checked={withLoss} onChange={(e) => setWithLoss(e.target.checked)} /> Also the reference’s loss under each system (teacher-forced)
            </label>
          </fieldset>
          <div className="actions">
            <button type="submit" disabled={!!running} data-testid="eval-start">
              Evaluate
            </button>
            {running && (
              <button type="button" className="secondary" onClick={cancel} disabled={running.cancelling} data-testid="eval-cancel">
                {running.cancelling ? 'Cancelling…' : 'Cancel'}
              </button>
            )}
          </div>
          {running && (
            <div data-testid="eval-progress" role="status">
              <progress max={p?.total ?? 1} value={p?.done ?? 0} /> {p ? `${p.message} · ${p.done}/${p.total} · ${formatEta(p.etaMs)}` : 'Starting…'}
            </div>
          )}
          <ErrorBox error={error} />
        </form>
      )}
      {history.length > 1 && (
        <Field label="Stored evaluations of this run">
          {(id) => (
            <select id={id} value={shown?.id} onChange={(e) => setShownId(e.target.value)}>
              {history.map((h) => (
                <option key={h.id} value={h.id}>
                  {new Date(h.createdAt).toLocaleString()} · {h.result.n} examples · {h.result.systems.map((s) => s.name).join(', ')}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      {shown && <Results key={shown.id} rec={shown} />}
    </section>
  );
}
