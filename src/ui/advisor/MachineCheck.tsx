import { useEffect, useState } from 'react';
import { useGpu } from '../../store/gpu';
import { trainer, type MemoryReport } from '../../worker/client';
import { MODEL_PRESETS } from '../../worker/presets';
import { PRESETS } from '../../worker/settings';
import { formatBytes } from '../common/format';

/** This machine: WebGPU adapter, fast-path features, and which preset models fit its limits. */
export function MachineCheck() {
  const status = useGpu((s) => s.status);
  const [fits, setFits] = useState<Record<string, MemoryReport | string>>({});

  useEffect(() => {
    if (!status?.available) return;
    let alive = true;
    const s = PRESETS.balanced.settings;
    void Promise.all(
      MODEL_PRESETS.map(async (p) => {
        try {
          return [p.id, await trainer().estimateMemory(p.config, s, 'auto', { storesTiedHead: p.storesTiedHead })] as const;
        } catch (e) {
          return [p.id, (e as Error).message] as const;
        }
      }),
    ).then((entries) => alive && setFits(Object.fromEntries(entries)));
    return () => {
      alive = false;
    };
  }, [status]);

  return (
    <div className="card" data-testid="machine-check">
      <h2>This machine</h2>
      {!status && <p aria-busy="true">Looking for a GPU…</p>}
      {status && !status.available && (
        <p className="bad" data-testid="machine-no-webgpu">
          No WebGPU here ({status.reason}). Training needs a browser with WebGPU — see the GPU screen for what to do — or the command-line tool.
        </p>
      )}
      {status?.available && (
        <>
          <dl className="kv">
            <dt>GPU</dt>
            <dd data-testid="machine-adapter">{status.adapter.name}</dd>
            <dt>Software adapter</dt>
            <dd>{status.adapter.isFallbackAdapter ? 'yes — training will be very slow' : 'no'}</dd>
            <dt>Fast paths</dt>
            <dd>
              {[status.f16 && 'shader-f16 (half-precision weights)', status.subgroups && 'subgroups', status.timestamps && 'timestamps'].filter(Boolean).join(', ') || 'none — the f32 baseline works everywhere, just slower'}
            </dd>
            <dt>Largest buffer</dt>
            <dd>{formatBytes(status.adapter.limits.maxBufferSize)}</dd>
            <dt>Largest binding</dt>
            <dd>{formatBytes(status.adapter.limits.maxStorageBufferBindingSize)}</dd>
          </dl>
          <h3>Which models fit (balanced settings: rank 8, batch 4 × 512 tokens)</h3>
          <table className="limits" data-testid="model-fit">
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Weights (auto)</th>
                <th scope="col">Training memory</th>
                <th scope="col">Verdict</th>
              </tr>
            </thead>
            <tbody>
              {MODEL_PRESETS.map((p) => {
                const f = fits[p.id];
                return (
                  <tr key={p.id}>
                    <th scope="row">{p.label}</th>
                    <td>{f === undefined ? '…' : typeof f === 'string' ? '—' : f.storage}</td>
                    <td>{f === undefined ? '…' : typeof f === 'string' ? '—' : formatBytes(f.totalBytes)}</td>
                    <td>{f === undefined ? '…' : typeof f === 'string' ? <span className="bad">{f}</span> : <Verdict r={f} />}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p className="muted">What the engine allocates for these settings on this GPU. Browsers do not reveal a GPU’s memory size, so the verdict compares it with the adapter’s limits and typical GPUs.</p>
        </>
      )}
    </div>
  );
}

export function Verdict({ r }: { r: MemoryReport }) {
  const text = r.verdict === 'likely' ? 'likely fits' : r.verdict === 'tight' ? 'may be tight' : 'does not fit';
  return (
    <span className={r.verdict === 'no' ? 'bad' : r.verdict === 'likely' ? 'ok' : 'warn-text'} title={r.notes.join(' ')}>
      {text}
    </span>
  );
}
