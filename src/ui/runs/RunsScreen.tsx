import { useEffect, useMemo, useState } from 'react';
import { useEngine } from '../../store/readiness';
import { useModel } from '../../store/model';
import { useRuns } from '../../store/runs';
import { align, canResume, seriesOf, thin } from '../../persist/lifecycle';
import { Chart } from '../common/Chart';
import { DropZone } from '../common/DropZone';
import { ErrorBox } from '../common/EngineNotice';
import { download, formatDate } from '../common/format';

const COLORS = ['#2f6fdf', '#d9480f', '#2b8a3e', '#7b3fc4', '#c2255c', '#0b7285'];

export function RunsScreen() {
  const { runs, adapters, metrics, loaded, error, refresh, loadMetrics, setNotes, removeRun, removeAdapter, exportZip, importAdapter } = useRuns();
  const { model, config } = useModel();
  const engine = useEngine((s) => s.status);
  const [selected, setSelected] = useState<string[]>([]);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  useEffect(() => {
    selected.forEach((id) => void loadMetrics(id));
  }, [selected, loadMetrics]);

  const compare = useMemo(() => align(selected.map((id) => thin(seriesOf(metrics[id] ?? [], 'trainLoss'), 600))), [selected, metrics]);

  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1}>Runs &amp; adapters</h1>
      <ErrorBox error={error} />
      <div className="card" data-testid="runs">
        <h2>Runs</h2>
        {loaded && runs.length === 0 && <p className="muted">No runs yet. Start one on the Train screen; every run is kept here with its settings, curves and notes.</p>}
        {runs.length > 0 && (
          <div className="table-scroll">
            <table className="limits">
              <thead>
                <tr>
                  <th scope="col">Compare</th>
                  <th scope="col">Run</th>
                  <th scope="col">Status</th>
                  <th scope="col">Dataset</th>
                  <th scope="col">Model</th>
                  <th scope="col">Settings</th>
                  <th scope="col">Notes</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((r) => (
                  <tr key={r.id}>
                    <td>
                      <input type="checkbox" aria-label={`Compare ${r.name}`} checked={selected.includes(r.id)} onChange={(e) => setSelected(e.target.checked ? [...selected, r.id] : selected.filter((x) => x !== r.id))} />
                    </td>
                    <td>
                      {r.name}
                      <br />
                      <span className="muted small">{formatDate(r.createdAt)}</span>
                    </td>
                    <td>
                      {r.status} · {r.step}/{r.totalSteps}
                      {canResume(r) && <div className="small">resumable from step {r.checkpointStep} (Train screen)</div>}
                      {r.error && <div className="bad small">{r.error}</div>}
                    </td>
                    <td>{r.datasetName}</td>
                    <td>
                      <code className="small">{r.model.id}</code>
                    </td>
                    <td className="small">
                      r {r.settings.rank}, α {r.settings.alpha}, lr {r.settings.learningRate}, {r.settings.epochs} ep, batch {r.settings.batchSize}×{r.settings.gradAccum}
                    </td>
                    <td>
                      <textarea aria-label={`Notes for ${r.name}`} rows={2} defaultValue={r.notes} onBlur={(e) => e.target.value !== r.notes && void setNotes(r.id, e.target.value)} />
                    </td>
                    <td>
                      <button type="button" className="secondary danger" onClick={() => confirm(`Delete run “${r.name}” with its curves and checkpoint?`) && void removeRun(r.id)}>
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {selected.length > 0 && <Chart title="Training loss of the selected runs" data={compare} series={selected.map((id, i) => ({ label: runs.find((r) => r.id === id)?.name ?? id, color: COLORS[i % COLORS.length] }))} />}
      </div>

      <div className="card" data-testid="adapters">
        <h2>Adapters</h2>
        {loaded && adapters.length === 0 && <p className="muted">No adapters yet. A finished run saves one here; you can also import a PEFT adapter.</p>}
        {adapters.length > 0 && (
          <table className="limits">
            <thead>
              <tr>
                <th scope="col">Adapter</th>
                <th scope="col">Base model</th>
                <th scope="col">Rank / alpha</th>
                <th scope="col">Targets</th>
                <th scope="col">Export</th>
                <th scope="col">Delete</th>
              </tr>
            </thead>
            <tbody>
              {adapters.map((a) => (
                <tr key={a.id} data-adapter={a.name}>
                  <th scope="row">
                    {a.name}
                    <br />
                    <span className="muted small">{formatDate(a.createdAt)}</span>
                  </th>
                  <td>
                    <code className="small">{a.baseModel}</code>
                  </td>
                  <td>
                    {a.rank} / {a.alpha}
                  </td>
                  <td className="small">{a.targets.join(', ')}</td>
                  <td>
                    <button
                      type="button"
                      className="secondary"
                      onClick={async () => {
                        const z = await exportZip(a.id);
                        if (z) download(z.bytes, z.fileName, 'application/zip');
                      }}
                    >
                      PEFT (.zip)
                    </button>{' '}
                    <button
                      type="button"
                      className="secondary"
                      disabled={!engine?.gguf.ready}
                      title={engine && !engine.gguf.ready ? engine.gguf.reason : 'LoRA GGUF for llama.cpp, with an Ollama Modelfile'}
                      onClick={async () => {
                        const z = await exportZip(a.id, 'gguf');
                        if (z) download(z.bytes, z.fileName, 'application/zip');
                      }}
                    >
                      GGUF + Modelfile
                    </button>
                  </td>
                  <td>
                    <button type="button" className="secondary danger" onClick={() => confirm(`Delete adapter “${a.name}”?`) && void removeAdapter(a.id)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <h3>Import a PEFT adapter</h3>
        <DropZone
          testId="adapter-import"
          label="Choose adapter files…"
          hint="adapter_config.json + adapter_model.safetensors, or a .zip of them. Checked against its base model before it is stored."
          accept=".json,.safetensors,.zip"
          multiple
          onFiles={async (files) => {
            const named = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
            await importAdapter(named, files.find((f) => f.name.endsWith('.zip'))?.name.replace(/\.zip$/, '') ?? '', config ? { id: model.id, config } : null);
          }}
        />
      </div>
    </section>
  );
}
