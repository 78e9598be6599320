import { useMemo } from 'react';
import type { MetricPoint, PreferenceMetrics } from '../../persist/records';
import { PREFERENCE_NAMES, align, seriesOf, thin, type MetricKey } from '../../persist/lifecycle';
import { Chart, formatTick, type ChartSeries } from '../common/Chart';

/** Points drawn per series: enough for detail, cheap to redraw on every update. */
const MAX_POINTS = 800;

type PreferenceName = keyof PreferenceMetrics;

const train = (name: PreferenceName): MetricKey => ({ of: 'preference', name });
const heldOut = (name: PreferenceName): MetricKey => ({ of: 'valPreference', name });

/** The preference charts: each a title, its series (a metric of the training or held-out pairs) and how they are drawn. */
const PREFERENCE_CHARTS: { title: string; keys: MetricKey[]; series: ChartSeries[] }[] = [
  {
    title: 'Rewards (β · log-ratio to the reference)',
    keys: [train('rewards/chosen'), train('rewards/rejected'), train('rewards/margins')],
    series: [{ label: 'chosen', color: '#2b8a3e' }, { label: 'rejected', color: '#d9480f' }, { label: 'margin', color: '#2f6fdf' }],
  },
  {
    title: 'Reward accuracy (chosen above rejected)',
    keys: [train('rewards/accuracies'), heldOut('rewards/accuracies')],
    series: [{ label: 'train', color: '#2f6fdf' }, { label: 'validation', color: '#d9480f', points: true }],
  },
  {
    title: 'Log-probabilities of the answers',
    keys: [train('logps/chosen'), train('logps/rejected')],
    series: [{ label: 'chosen', color: '#2b8a3e' }, { label: 'rejected', color: '#d9480f' }],
  },
];

const chartData = (points: MetricPoint[], keys: MetricKey[]) => align(keys.map((k) => thin(seriesOf(points, k), MAX_POINTS)));

/** Train/validation loss, learning rate, gradient norm and tokens/s of a run; a DPO/ORPO run's rewards beside them. */
export function LiveCharts({ points }: { points: MetricPoint[] }) {
  const loss = useMemo(() => chartData(points, ['trainLoss', 'valLoss']), [points]);
  const lr = useMemo(() => chartData(points, ['lr']), [points]);
  const grad = useMemo(() => chartData(points, ['gradNorm']), [points]);
  const speed = useMemo(() => chartData(points, ['tokensPerSec']), [points]);
  // Only a preference run measures rewards; an SFT run shows the four charts it always had.
  const preference = useMemo(() => (points.some((p) => p.preference) ? PREFERENCE_CHARTS.map((c) => ({ ...c, data: chartData(points, c.keys) })) : null), [points]);
  const latest = useMemo(() => ({ train: points.findLast((p) => p.preference)?.preference, heldOut: points.findLast((p) => p.valPreference)?.valPreference }), [points]);
  return (
    <div className="card charts" data-testid="live-charts">
      <h2>Live curves</h2>
      <div className="chart-grid">
        <Chart title="Loss" data={loss} series={[{ label: 'train', color: '#2f6fdf' }, { label: 'validation', color: '#d9480f', points: true }]} />
        {preference?.map((c) => <Chart key={c.title} title={c.title} data={c.data} series={c.series} />)}
        <Chart title="Learning rate" data={lr} series={[{ label: 'lr', color: '#7b3fc4' }]} />
        <Chart title="Gradient norm" data={grad} series={[{ label: 'grad norm', color: '#2b8a3e' }]} />
        <Chart title="Tokens per second" data={speed} series={[{ label: 'tokens/s', color: '#c2255c' }]} />
      </div>
      {latest.train && <PreferenceTable train={latest.train} heldOut={latest.heldOut} />}
    </div>
  );
}

/** The newest preference metrics under TRL's names (held-out ones as TRL's eval_ prefix would log them). */
function PreferenceTable({ train, heldOut }: { train: PreferenceMetrics; heldOut?: PreferenceMetrics }) {
  return (
    <table className="preference-metrics" data-testid="preference-metrics">
      <caption>Latest preference metrics</caption>
      <thead>
        <tr>
          <th scope="col">metric</th>
          <th scope="col">training pairs</th>
          <th scope="col">held-out pairs</th>
        </tr>
      </thead>
      <tbody>
        {PREFERENCE_NAMES.map((n) => (
          <tr key={n} data-metric={n}>
            <th scope="row">
              <code>{n}</code>
            </th>
            <td data-testid={`train-${n}`}>{formatTick(train[n])}</td>
            <td data-testid={`eval-${n}`}>{heldOut ? formatTick(heldOut[n]) : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
