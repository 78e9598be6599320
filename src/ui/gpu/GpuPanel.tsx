import { useGpu } from '../../store/gpu';
import { KernelBenchCard, ProfileCard } from './Measurements';

const MiB = 1024 * 1024;

/** The limits the engine depends on, with what each means for training. */
const LIMIT_NOTES: Record<string, string> = {
  maxStorageBufferBindingSize: 'largest tensor bound at once (bigger ones are split)',
  maxBufferSize: 'largest single buffer',
  maxComputeWorkgroupStorageSize: 'shared memory for kernel tiles',
  maxComputeInvocationsPerWorkgroup: 'threads per workgroup',
  maxStorageBuffersPerShaderStage: 'buffers one kernel may bind',
  maxComputeWorkgroupsPerDimension: 'grid size per dimension',
};

function fmtLimit(name: string, v: number): string {
  return name.endsWith('Size') && v >= MiB ? `${Math.round(v / MiB)} MiB` : String(v);
}

export function GpuPanel() {
  const { status, smoke, smokeRunning, runSmoke } = useGpu();
  if (!status) return <p aria-busy="true">Looking for a GPU…</p>;
  if (!status.available) return null;
  const a = status.adapter;
  return (
    <section aria-labelledby="gpu-title" data-testid="gpu-panel">
      <h1 id="gpu-title">Your GPU</h1>
      <div className="card">
        <dl className="kv">
          <dt>Adapter</dt>
          <dd data-testid="gpu-adapter">{a.name}</dd>
          <dt>Vendor / architecture</dt>
          <dd>
            {a.vendor || '—'} / {a.architecture || '—'}
          </dd>
          <dt>Software fallback</dt>
          <dd>{a.isFallbackAdapter ? 'yes — training will be slow' : 'no'}</dd>
        </dl>
        <h2>Fast paths</h2>
        <ul className="features" data-testid="gpu-features">
          {(
            [
              ['shader-f16', status.f16, 'half-precision weights and math'],
              ['subgroups', status.subgroups, 'faster reductions'],
              ['timestamp-query', status.timestamps, 'kernel timing'],
            ] as const
          ).map(([name, on, why]) => (
            <li key={name} className={on ? 'on' : 'off'}>
              <strong>{name}</strong>: {on ? 'available' : 'not available'} <span className="muted">({why})</span>
            </li>
          ))}
        </ul>
        <h2>Limits</h2>
        <table className="limits" data-testid="gpu-limits">
          <tbody>
            {Object.entries(a.limits).map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>{fmtLimit(k, v)}</td>
                <td className="muted">{LIMIT_NOTES[k] ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="card">
        <h2>Kernel self-test</h2>
        <p className="muted">Runs every compute kernel once on this GPU and compares it with a float64 CPU reference.</p>
        <button type="button" onClick={() => void runSmoke()} disabled={smokeRunning} data-testid="run-smoke">
          {smokeRunning ? 'Running…' : 'Run kernel self-test'}
        </button>
        {smoke && (
          <table className="limits" data-testid="smoke-results">
            <thead>
              <tr>
                <th scope="col">Kernel</th>
                <th scope="col">Result</th>
                <th scope="col">Max error</th>
                <th scope="col">Time</th>
              </tr>
            </thead>
            <tbody>
              {smoke.map((r) => (
                <tr key={r.kernel} data-kernel={r.kernel} data-ok={r.ok}>
                  <th scope="row">{r.kernel}</th>
                  <td className={r.ok ? 'ok' : 'bad'}>{r.ok ? 'pass' : `FAIL${r.error ? `: ${r.error}` : ''}`}</td>
                  <td>{Number.isFinite(r.maxAbsErr) ? r.maxAbsErr.toExponential(1) : '—'}</td>
                  <td>{r.ms.toFixed(0)} ms</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <ProfileCard />
      <KernelBenchCard />
    </section>
  );
}
