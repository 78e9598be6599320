import { useEffect, useMemo, useState } from 'react';
import { useModel } from '../../store/model';
import { useRuns, type PickedFolder } from '../../store/runs';
import { canPickFolder } from '../../store/export-sink';
import { LOSS_MODES, MERGED_GGUF_TYPES, OBJECTIVES, RECIPE_TARGETS, type MergedGgufType, type RecipeTarget, type TrainSettings } from '../../worker/settings';

/** The objective a run trained with and its own parameters ("DPO, β 0.1"). */
function objectiveSummary(s: Pick<TrainSettings, 'objective' | 'beta' | 'labelSmoothing' | 'orpoLambda'>): string {
  if (s.objective === 'dpo') return `DPO, β ${s.beta}${s.labelSmoothing ? `, label smoothing ${s.labelSmoothing}` : ''}`;
  if (s.objective === 'orpo') return `ORPO, λ ${s.orpoLambda}`;
  return 'SFT';
}
import { align, canResume, comparableMetrics, deleteRunRefusal, formatLoss, recipeRefusal, seriesOf, thin } from '../../persist/lifecycle';
import type { RunRecord } from '../../persist/records';
import { Chart } from '../common/Chart';
import { RunEvaluations } from './RunEvaluations';
import { DropZone } from '../common/DropZone';
import { ErrorBox } from '../common/ErrorBox';
import { Field } from '../common/Field';
import { download, downloadBlob, formatBytes, formatDate } from '../common/format';

/** The File System Access folder picker; null when the user closes it. */
async function pickFolder(): Promise<PickedFolder | null> {
  try {
    return await (window as unknown as { showDirectoryPicker(o: object): Promise<PickedFolder> }).showDirectoryPicker({ mode: 'readwrite', id: 'lora-studio-export' });
  } catch (e) {
    if ((e as Error).name === 'AbortError') return null;
    throw e;
  }
}

/** Delete, switched off (with the reason beside it) for the run in use: the worker would refuse it. */
function DeleteRunButton({ refusal, onDelete }: { refusal: string | null; onDelete: () => void }) {
  return (
    <>
      <button type="button" className="secondary danger" disabled={refusal !== null} title={refusal ?? undefined} onClick={onDelete}>
        Delete
      </button>
      {refusal && <div className="muted small">{refusal}</div>}
    </>
  );
}

const TARGET_LABELS: Record<RecipeTarget, string> = { axolotl: 'Axolotl (YAML + DeepSpeed)', trl: 'TRL (script + accelerate)' };

/**
 * "Export as recipe" for a completed run: the trainer and GPU count, then the worker zips the folder
 * the CLI's `export --format axolotl|trl` writes. Switched off, with the reason, for a run without a training record.
 */
function RecipeExport({ run, onExport }: { run: RunRecord; onExport: (target: RecipeTarget, gpus: number) => Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [target, setTarget] = useState<RecipeTarget>('axolotl');
  const [gpus, setGpus] = useState(1);
  const [busy, setBusy] = useState(false);
  const refusal = recipeRefusal(run);
  const gpusOk = Number.isInteger(gpus) && gpus >= 1 && gpus <= 1024;
  if (run.status !== 'completed') return null;
  return (
    <div className="recipe-export">
      <button type="button" className="secondary" disabled={refusal !== null} title={refusal ?? 'The same run as an Axolotl or TRL recipe for a multi-GPU machine'} aria-expanded={open} onClick={() => setOpen(!open)}>
        Export as recipe
      </button>
      {refusal && <div className="muted small">{refusal}</div>}
      {open && !refusal && (
        <div className="small" role="group" aria-label={`Recipe for ${run.name}`}>
          <label>
            Trainer{' '}
            <select value={target} onChange={(e) => setTarget(e.target.value as RecipeTarget)}>
              {RECIPE_TARGETS.map((t) => (
                <option key={t} value={t}>
                  {TARGET_LABELS[t]}
                </option>
              ))}
            </select>
          </label>{' '}
          <label>
            GPUs <input type="number" min={1} max={1024} step={1} value={gpus} style={{ width: '5em' }} onChange={(e) => setGpus(e.target.valueAsNumber)} />
          </label>{' '}
          <button
            type="button"
            disabled={busy || !gpusOk}
            onClick={async () => {
              setBusy(true);
              try {
                await onExport(target, gpus);
              } finally {
                setBusy(false);
              }
            }}
          >
            {busy ? 'Writing…' : 'Download recipe (.zip)'}
          </button>
          {!gpusOk && <div className="bad small">The GPU count is a whole number from 1 to 1024.</div>}
        </div>
      )}
    </div>
  );
}

const COLORS = ['#2f6fdf', '#d9480f', '#2b8a3e', '#7b3fc4', '#c2255c', '#0b7285'];

export function RunsScreen() {
  const { runs, adapters, metrics, activeRunId, loaded, error, refresh, loadMetrics, setNotes, removeRun, removeAdapter, exportZip, exportRecipe, importAdapter, exporting, exported, savePeftToFolder, exportMerged, cancelExport } = useRuns();
  // Checked per render: Chrome and Edge have the folder picker, other browsers download instead.
  const folderOk = canPickFolder(window);
  const [ggufType, setGgufType] = useState<MergedGgufType>('F32');
  const merged = async (id: string, format: 'merged' | 'merged-gguf') => {
    let folder: PickedFolder | null = null;
    if (folderOk) {
      // Asked first, while the click still counts as the user's gesture.
      folder = await pickFolder();
      if (!folder) return;
    }
    const r = await exportMerged(id, format, folder, format === 'merged-gguf' ? ggufType : undefined);
    if (r?.blob) downloadBlob(r.blob, r.fileName);
  };
  const { model, config } = useModel();
  const [selected, setSelected] = useState<string[]>([]);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  useEffect(() => {
    selected.forEach((id) => void loadMetrics(id));
  }, [selected, loadMetrics]);

  // The metric compared: any one the selected runs measured (a DPO/ORPO run's rewards too); train loss until another is chosen.
  const offered = useMemo(() => comparableMetrics(selected.map((id) => metrics[id] ?? [])), [selected, metrics]);
  const [metricId, setMetricId] = useState('trainLoss');
  const metric = offered.find((m) => m.id === metricId) ?? offered[0];
  const compare = useMemo(() => (metric ? align(selected.map((id) => thin(seriesOf(metrics[id] ?? [], metric.key), 600))) : null), [selected, metrics, metric]);

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
                  <th scope="col">Last loss (train / val)</th>
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
                    <td data-testid="run-loss">
                      {formatLoss(r.lastTrainLoss)} / {formatLoss(r.lastValLoss)}
                    </td>
                    <td>{r.datasetName}</td>
                    <td>
                      <code className="small">{r.model.id}</code>
                    </td>
                    <td className="small">
                      <span data-testid="run-objective">{objectiveSummary(r.settings)}</span>, r {r.settings.rank}, α {r.settings.alpha}, lr {r.settings.learningRate}, {r.settings.epochs} ep, batch {r.settings.batchSize}×{r.settings.gradAccum}
                      {r.settings.lossMode && r.settings.lossMode !== 'all-assistant' && `, trained on ${LOSS_MODES.find((m) => m.id === r.settings.lossMode)?.label}`}
                    </td>
                    <td>
                      <textarea aria-label={`Notes for ${r.name}`} rows={2} defaultValue={r.notes} onBlur={(e) => e.target.value !== r.notes && void setNotes(r.id, e.target.value)} />
                    </td>
                    <td>
                      <RecipeExport
                        run={r}
                        onExport={async (target, gpus) => {
                          const z = await exportRecipe(r.id, target, gpus);
                          if (z) download(z.bytes, z.fileName, 'application/zip');
                        }}
                      />
                      <DeleteRunButton refusal={deleteRunRefusal(r.id, activeRunId)} onDelete={() => confirm(`Delete run “${r.name}” with its curves and checkpoint?`) && void removeRun(r.id)} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {selected.length > 0 && metric && compare && (
          <div data-testid="run-comparison">
            <Field label="Metric compared" hint="Only metrics that at least one selected run measured are offered.">
              {(id, describedBy) => (
                <select id={id} aria-describedby={describedBy} value={metric.id} onChange={(e) => setMetricId(e.target.value)}>
                  {offered.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Chart title={`${metric.label[0].toUpperCase()}${metric.label.slice(1)} of the selected runs`} data={compare} series={selected.map((id, i) => ({ label: runs.find((r) => r.id === id)?.name ?? id, color: COLORS[i % COLORS.length] }))} />
          </div>
        )}
      </div>

      <RunEvaluations runs={runs} />
      <div className="card" data-testid="adapters">
        <h2>Adapters</h2>
        {loaded && adapters.length === 0 && <p className="muted">No adapters yet. A finished run saves one here; you can also import a PEFT adapter.</p>}
        {adapters.length > 0 && (
          <table className="limits">
            <thead>
              <tr>
                <th scope="col">Adapter</th>
                <th scope="col">Base model</th>
                <th scope="col">Trained with</th>
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
                  <td data-testid="adapter-objective">{a.objective ? OBJECTIVES.find((o) => o.id === a.objective)?.label : <span className="muted">not recorded</span>}</td>
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
                      title="LoRA GGUF for llama.cpp, with an Ollama Modelfile"
                      onClick={async () => {
                        const z = await exportZip(a.id, 'gguf');
                        if (z) download(z.bytes, z.fileName, 'application/zip');
                      }}
                    >
                      GGUF + Modelfile
                    </button>{' '}
                    {folderOk && (
                      <button
                        type="button"
                        className="secondary"
                        title="Write adapter_config.json and adapter_model.safetensors into a folder you choose (in a subfolder named after the adapter)"
                        onClick={async () => {
                          const folder = await pickFolder();
                          if (folder) await savePeftToFolder(a.id, folder);
                        }}
                      >
                        PEFT → folder…
                      </button>
                    )}
                    <div className="export-merged">
                      <span className="muted small">Merged with its base model:</span>{' '}
                      <button
                        type="button"
                        className="secondary"
                        disabled={!!exporting}
                        title="Hugging Face folder: model.safetensors with the adapter folded in, config.json and the tokenizer files"
                        onClick={() => void merged(a.id, 'merged')}
                      >
                        {folderOk ? 'Merged model → folder…' : 'Merged model (.zip)'}
                      </button>{' '}
                      <button type="button" className="secondary" disabled={!!exporting} title={`One GGUF for llama.cpp and Ollama (${ggufType}), tokenizer included`} onClick={() => void merged(a.id, 'merged-gguf')}>
                        {folderOk ? 'Merged GGUF → folder…' : 'Merged GGUF (.gguf)'}
                      </button>{' '}
                      <select
                        aria-label="Merged GGUF weights"
                        title="Weight type of the merged GGUF: F32/F16/BF16 keep the merged values; Q8_0, Q4_0 and Q4_K_M quantize them as llama.cpp's llama-quantize does (Q4_K_M is slow to write in the browser for large models)"
                        value={ggufType}
                        disabled={!!exporting}
                        onChange={(e) => setGgufType(e.target.value as MergedGgufType)}
                      >
                        {MERGED_GGUF_TYPES.map((t) => (
                          <option key={t} value={t}>
                            {t}
                          </option>
                        ))}
                      </select>
                    </div>
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
        {adapters.length > 0 && (
          <p className="muted small" data-testid="export-note">
            Merged exports are as large as the base model in full precision (hundreds of MB for real models) and need the base model on this device.{' '}
            {folderOk
              ? 'They are streamed straight into the folder you choose, one tensor at a time.'
              : 'This browser cannot write into a folder, so they are assembled in this page (kept by the browser, on disk where it can) and then downloaded; Chrome and Edge stream them straight into a folder instead.'}
          </p>
        )}
        {exporting && (
          <div className="progress-row" role="status" aria-live="polite" data-testid="export-progress">
            <progress max={exporting.plan?.approxBytes || 1} value={exporting.bytesDone} aria-label="Merged export" />
            <span>
              {exporting.cancelling
                ? 'Cancelling…'
                : !exporting.plan
                  ? 'Opening the base model…'
                  : `${exporting.to === 'folder' ? 'Writing' : 'Assembling in this page'} ${exporting.file ?? ''}: ${formatBytes(exporting.bytesDone)} of about ${formatBytes(exporting.plan.approxBytes)}`}
            </span>
            <button type="button" className="secondary" onClick={cancelExport} disabled={exporting.cancelling}>
              Cancel
            </button>
          </div>
        )}
        {exported && (
          <p className="ok" role="status" data-testid="export-done">
            {exported}
          </p>
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
            await importAdapter(named, files.find((f) => f.name.endsWith('.zip'))?.name.replace(/\.zip$/, '') ?? '', config ? { id: model.id, hubId: model.hubId, config } : null);
          }}
        />
      </div>
    </section>
  );
}
