import { useMemo } from 'react';
import type { MetricPoint } from '../../persist/records';
import { align, seriesOf, thin } from '../../persist/lifecycle';
import { Chart } from '../common/Chart';

/** Points drawn per series: enough for detail, cheap to redraw on every update. */
const MAX_POINTS = 800;

/** Train/validation loss, learning rate, gradient norm and tokens/s of a run. */
export function LiveCharts({ points }: { points: MetricPoint[] }) {
  const loss = useMemo(() => align([thin(seriesOf(points, 'trainLoss'), MAX_POINTS), thin(seriesOf(points, 'valLoss'), MAX_POINTS)]), [points]);
  const lr = useMemo(() => align([thin(seriesOf(points, 'lr'), MAX_POINTS)]), [points]);
  const grad = useMemo(() => align([thin(seriesOf(points, 'gradNorm'), MAX_POINTS)]), [points]);
  const speed = useMemo(() => align([thin(seriesOf(points, 'tokensPerSec'), MAX_POINTS)]), [points]);
  return (
    <div className="card charts" data-testid="live-charts">
      <h2>Live curves</h2>
      <div className="chart-grid">
        <Chart title="Loss" data={loss} series={[{ label: 'train', color: '#2f6fdf' }, { label: 'validation', color: '#d9480f', points: true }]} />
        <Chart title="Learning rate" data={lr} series={[{ label: 'lr', color: '#7b3fc4' }]} />
        <Chart title="Gradient norm" data={grad} series={[{ label: 'grad norm', color: '#2b8a3e' }]} />
        <Chart title="Tokens per second" data={speed} series={[{ label: 'tokens/s', color: '#c2255c' }]} />
      </div>
    </div>
  );
}
