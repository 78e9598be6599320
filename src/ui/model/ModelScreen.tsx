import { useEffect, useState } from 'react';
import { useEngine } from '../../store/readiness';
import { useModel } from '../../store/model';
import { useTrain } from '../../store/training';
import { MODEL_PRESETS } from '../../worker/presets';
import { Verdict } from '../advisor/MachineCheck';
import { DropZone } from '../common/DropZone';
import { EngineNotice, ErrorBox } from '../common/EngineNotice';
import { formatBytes, formatCount } from '../common/format';

/** Hub ids look like owner/name. */
const HUB_ID = /^[\w.-]+\/[\w.-]+$/;

export function ModelScreen() {
  const { model, config, memory, memoryError, choosePreset, chooseHubId, chooseLocal, estimate } = useModel();
  const settings = useTrain((s) => s.settings);
  const engine = useEngine((s) => s.status);
  const [hubId, setHubId] = useState(model.source === 'hub' && !MODEL_PRESETS.some((p) => p.id === model.id) ? model.id : '');
  const [localError, setLocalError] = useState<string | null>(null);

  useEffect(() => {
    void estimate(settings);
  }, [config, settings, estimate]);

  async function onFolder(files: File[]) {
    setLocalError(null);
    const cfg = files.find((f) => f.name === 'config.json');
    if (!cfg) return setLocalError(`No config.json in the folder (found: ${files.slice(0, 8).map((f) => f.name).join(', ')}${files.length > 8 ? ', …' : ''}).`);
    try {
      const json = JSON.parse(await cfg.text());
      const folder = (cfg as File & { webkitRelativePath?: string }).webkitRelativePath?.split('/')[0] || 'local model';
      chooseLocal(folder, json);
    } catch (e) {
      setLocalError(`config.json is not valid JSON (${(e as Error).message}).`);
    }
  }

  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1}>Base model</h1>
      <p className="lead">The model your adapter trains on. Small models train fast in a browser; the adapter only works with the exact base it was trained on.</p>

      <div className="card">
        <fieldset>
          <legend>Presets</legend>
          {MODEL_PRESETS.map((p) => (
            <label key={p.id} className="choice">
              <input type="radio" name="model" checked={model.id === p.id} onChange={() => choosePreset(p.id)} />
              <span>
                <strong>{p.label}</strong> <span className="muted">({p.params}) — {p.note}</span>
                <br />
                <code className="small">{p.id}</code>
              </span>
            </label>
          ))}
        </fieldset>
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (HUB_ID.test(hubId.trim())) chooseHubId(hubId.trim());
          }}
        >
          <label htmlFor="hub-id">Any Hugging Face model id</label>
          <input id="hub-id" value={hubId} onChange={(e) => setHubId(e.target.value)} placeholder="owner/model-name" aria-invalid={hubId !== '' && !HUB_ID.test(hubId.trim())} />
          <button type="submit" className="secondary" disabled={!HUB_ID.test(hubId.trim())}>
            Use this model
          </button>
        </form>
        <DropZone directory testId="model-folder" label="Load a model from a local folder…" hint="A folder with config.json, tokenizer.json, tokenizer_config.json and model.safetensors (Hugging Face layout)." onFiles={(f) => void onFolder(f)} />
        <ErrorBox error={localError} />
      </div>

      <div className="card" data-testid="model-choice">
        <h2>Chosen: {model.id}</h2>
        <p className="muted">{model.source === 'local' ? 'From a local folder on this device.' : 'From the Hugging Face Hub (downloaded once, then cached in this browser).'}</p>
        <EngineNotice what="model download and cache" readiness={engine?.models} />
      </div>

      <div className="card" data-testid="memory-estimate">
        <h2>Will it fit?</h2>
        <p className="muted">
          With the current training settings: rank {settings.rank}, {settings.targets.length} target layers, batch {settings.batchSize} × {settings.seqLen} tokens (change them on the Train screen).
        </p>
        {memoryError && <p className="bad">{memoryError}</p>}
        {memory && (
          <>
            <p>
              <Verdict r={memory} /> — about <strong>{formatBytes(memory.totalBytes)}</strong> of GPU memory.
            </p>
            <table className="limits">
              <tbody>
                <tr>
                  <th scope="row">Base weights</th>
                  <td>{formatBytes(memory.weightBytes)}</td>
                  <td className="muted">{formatCount(memory.baseParams)} parameters, frozen</td>
                </tr>
                <tr>
                  <th scope="row">LoRA weights, gradients, AdamW state</th>
                  <td>{formatBytes(memory.loraTrainingBytes)}</td>
                  <td className="muted">{formatCount(memory.loraParams)} trainable parameters</td>
                </tr>
                <tr>
                  <th scope="row">Activations kept for backward</th>
                  <td>{formatBytes(memory.activationBytes)}</td>
                  <td className="muted">grows with batch × sequence length</td>
                </tr>
                <tr>
                  <th scope="row">Largest single tensor</th>
                  <td>{formatBytes(memory.largestTensorBytes)}</td>
                  <td className="muted">the token embedding</td>
                </tr>
              </tbody>
            </table>
            <ul>
              {memory.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          </>
        )}
        <a href="#/train">Next: training settings →</a>
      </div>
    </section>
  );
}
