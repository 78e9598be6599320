// The GPU screen's measurements: "Profile one step" (the Train screen's model and settings,
// kernel by kernel where the adapter has timestamp-query, else whole-step times) and the
// in-page kernel benchmark (the rows `npm run bench` times). Both export as JSON for bug reports.
import { useGpu } from '../../store/gpu';
import { useModel } from '../../store/model';
import { useTrain } from '../../store/training';
import { downloadBlob } from '../common/format';
import { ErrorBox } from '../common/ErrorBox';

const fmt = (x: number | null, digits = 2) => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(digits));

function exportJson(report: object, name: string): void {
  downloadBlob(new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' }), name);
}

const fileSafe = (s: string) => s.replace(/[^\w.-]+/g, '_');

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

export function ProfileCard() {
  const { profile, profiling, profileError, profileStep } = useGpu();
  const model = useModel((s) => s.model);
  const settings = useTrain((s) => s.settings);
  const weights = useModel((s) => s.weights);
  const p = profile?.profile;
  return (
    <div className="card">
      <h2>Profile one step</h2>
      <p className="muted">
        Times one optimizer step of <strong>{model.id}</strong> with the Model screen&apos;s weight format ({weights}) and the Train screen&apos;s settings (batch {settings.batchSize} × {settings.seqLen} tokens, rank {settings.rank}, {settings.gradAccum} micro-batch
        {settings.gradAccum === 1 ? '' : 'es'}) on a synthetic batch of that shape, kernel by kernel where this GPU can time kernels.
      </p>
      <button type="button" onClick={() => void profileStep(model, settings, weights)} disabled={profiling} data-testid="profile-step">
        {profiling ? 'Profiling…' : 'Profile one step'}
      </button>
      <ErrorBox error={profileError} />
      {profile && p && (
        <div data-testid="profile-report">
          <p>
            {p.dispatches} dispatches; whole step {fmt(median(p.stepMs), 1)} ms (median of {p.stepMs.length}) on {profile.adapter.name}.
            {p.kernels && ` Kernels ${fmt(p.kernels.kernelMs, 1)} ms of a ${fmt(p.kernels.spanMs, 1)} ms GPU span.`}
          </p>
          <p className="muted" data-testid="profile-note">
            {p.note}
          </p>
          {p.kernels && (
            <table className="limits" data-testid="profile-results">
              <thead>
                <tr>
                  <th scope="col">Kernel</th>
                  <th scope="col">Calls</th>
                  <th scope="col">Total ms</th>
                  <th scope="col">Share of the step</th>
                  <th scope="col">GFLOP/s</th>
                  <th scope="col">GB/s</th>
                </tr>
              </thead>
              <tbody>
                {p.kernels.rows.map((r) => (
                  <tr key={r.kernel} data-kernel={r.kernel}>
                    <th scope="row">{r.kernel}</th>
                    <td>{r.calls}</td>
                    <td>{fmt(r.totalMs)}</td>
                    <td>
                      <span className="share-bar" aria-hidden="true" style={{ display: 'inline-block', width: `${Math.max(1, Math.round(r.share * 120))}px`, height: '0.7em', background: 'var(--accent)', marginRight: '0.4em' }} />
                      {fmt(100 * r.share, 1)}%
                    </td>
                    <td>{fmt(r.gflops)}</td>
                    <td>{fmt(r.gbps)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <button type="button" onClick={() => exportJson(profile, `step-profile-${fileSafe(profile.model.id)}.json`)} data-testid="profile-export">
            Export JSON
          </button>
        </div>
      )}
    </div>
  );
}

export function KernelBenchCard() {
  const { bench, benchRows, benching, benchError, runBench, status } = useGpu();
  const model = useModel((s) => s.model);
  const settings = useTrain((s) => s.settings);
  const rows = bench?.rows ?? benchRows;
  // Weight formats measured beside f32 (the engine's list: f16 where the adapter has it, then the block formats whose block fits the row).
  const variants = [...new Set(rows.flatMap((r) => Object.keys(r.variantGflops) as (keyof typeof r.variantGflops)[]))];
  const adapterName = bench?.adapter.name ?? (status?.available ? status.adapter.name : '');
  return (
    <div className="card">
      <h2>Kernel benchmark</h2>
      <p className="muted">
        Our linear, LoRA and attention kernels at <strong>{model.id}</strong>&apos;s shapes ({settings.batchSize * settings.seqLen} tokens, rank {settings.rank}, attention over {settings.seqLen}), the same rows{' '}
        <code>npm run bench</code> times. Send the JSON to tell us where the studio stands on your GPU.
      </p>
      <button type="button" onClick={() => void runBench(model, settings)} disabled={benching} data-testid="run-kernel-bench">
        {benching ? 'Running…' : 'Run kernel benchmark'}
      </button>
      <ErrorBox error={benchError} />
      {rows.length > 0 && (
        <>
          <p data-testid="kernel-bench-adapter">Adapter: {adapterName}</p>
          <table className="limits" data-testid="kernel-bench-results" data-done={bench ? 'true' : 'false'}>
            <thead>
              <tr>
                <th scope="col">Kernel</th>
                <th scope="col">Shape</th>
                <th scope="col">ms</th>
                <th scope="col">GFLOP/s</th>
                {variants.map((v) => (
                  <th scope="col" key={v}>
                    {v} weight GFLOP/s
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.kernel} data-kernel={r.kernel}>
                  <th scope="row">{r.kernel}</th>
                  <td>{r.shape}</td>
                  <td>{fmt(r.ms)}</td>
                  <td>{fmt(r.gflops)}</td>
                  {variants.map((v) => (
                    <td key={v}>{fmt(r.variantGflops[v] ?? null)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {bench && (
        <button type="button" onClick={() => exportJson(bench, `kernel-bench-${fileSafe(bench.model.id)}.json`)} data-testid="kernel-bench-export">
          Export JSON
        </button>
      )}
    </div>
  );
}
