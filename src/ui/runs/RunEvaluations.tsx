// The Runs screen's comparison of evaluations across runs: each run's newest stored evaluation,
// its systems' scores on the headline metric and its verdict, one row per run.
import { useEffect } from 'react';
import { useEvaluation } from '../../store/evaluation';
import type { RunRecord } from '../../persist/records';
import { headlineMetric } from '../evaluate/rows';

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');

export function RunEvaluations({ runs }: { runs: RunRecord[] }) {
  const { byRun, load } = useEvaluation();
  const ids = runs.filter((r) => r.adapterId).map((r) => r.id).join(',');
  useEffect(() => {
    for (const id of ids.split(',').filter(Boolean)) void load(id);
  }, [ids, load]);
  const rows = runs.flatMap((r) => (byRun[r.id]?.[0] ? [{ run: r, ev: byRun[r.id][0] }] : []));
  if (rows.length === 0) return null;
  return (
    <div className="card" data-testid="run-evaluations">
      <h2>Evaluations</h2>
      <p className="muted small">
        The newest evaluation of each run (<a href="#/evaluate">Evaluate</a> for the examples). Mean on the headline metric, 95% interval in brackets.
      </p>
      <div className="table-scroll">
        <table className="limits">
          <thead>
            <tr>
              <th>Run</th>
              <th>Set</th>
              <th>Metric</th>
              <th>Systems</th>
              <th>Verdict</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ run, ev }) => {
              const r = ev.result;
              const metric = headlineMetric(r);
              return (
                <tr key={run.id} data-run={run.name}>
                  <td>{run.name}</td>
                  <td>
                    {ev.source.kind === 'validation' ? 'validation split' : ev.source.datasetName} ({r.n})
                  </td>
                  <td>{r.metrics.find((m) => m.id === metric)!.label}</td>
                  <td>
                    {r.systems.map((s) => (
                      <div key={s.name}>
                        {s.name}: {fmt(s.aggregates[metric].mean)} <span className="muted small">[{fmt(s.aggregates[metric].lo)}, {fmt(s.aggregates[metric].hi)}]</span>
                      </div>
                    ))}
                  </td>
                  <td className="small">{r.verdicts.map((v) => v.text).join(' ')}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
