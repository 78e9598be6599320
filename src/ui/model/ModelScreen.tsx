import { useEffect, useState } from 'react';
import { useModel } from '../../store/model';
import { useTrain } from '../../store/training';
import { HUB_ID, MODEL_PRESETS, baseModelName } from '../../worker/presets';
import { modelMissingMessage } from '../../worker/model-availability';
import { requestPersistentStorage } from '../pwa/storage';
import { Verdict } from '../advisor/MachineCheck';
import { DropZone } from '../common/DropZone';
import { ErrorBox } from '../common/ErrorBox';
import { formatBytes, formatCount } from '../common/format';
import { READ_GGML_TYPES, WEIGHT_STORAGES, type WeightsFlag } from '../../worker/settings';

export function ModelScreen() {
  const { model, config, weights, setWeights, memory, memoryError, choosePreset, chooseHubId, setLocalHubId, estimate, cached, progress, busy, error, refreshCache, download, importFolder, cancel, removeCached, hubToken, rememberToken, setHubToken, setRememberToken, loadHubToken, hubGguf, chooseGgufFile, setTokenizerRepo } = useModel();
  const settings = useTrain((s) => s.settings);
  const [hubId, setHubId] = useState(model.source === 'hub' && !MODEL_PRESETS.some((p) => p.id === model.id) ? model.id : '');

  useEffect(() => {
    void estimate(settings);
  }, [config, settings, weights, estimate]);
  useEffect(() => {
    void refreshCache();
  }, [refreshCache]);
  useEffect(() => {
    void loadHubToken();
  }, [loadHubToken]);
  // A GGUF repo's files are cached one by one.
  const isCached = cached.some((m) => m.id === model.id && m.source === model.source && (!model.gguf || m.gguf?.file === model.gguf.file));
  const refusal = memory?.downloadRefusal ?? null;

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
            if (HUB_ID.test(hubId.trim())) chooseHubId(hubId.trim(), settings);
          }}
        >
          <label htmlFor="hub-id">Any Hugging Face model id</label>
          <input id="hub-id" value={hubId} onChange={(e) => setHubId(e.target.value)} placeholder="owner/model-name" aria-invalid={hubId !== '' && !HUB_ID.test(hubId.trim())} />
          <button type="submit" className="secondary" disabled={!HUB_ID.test(hubId.trim())}>
            Use this model
          </button>
        </form>
        <DropZone directory testId="model-folder" label="Load a model from a local folder…" hint="A folder with config.json, tokenizer.json, tokenizer_config.json and model.safetensors (Hugging Face layout)." onFiles={(f) => {
            // Asked from the page (workers cannot): without it the browser may evict the import.
            void requestPersistentStorage();
            void importFolder(f);
          }} disabled={busy} />
        <DropZone multiple accept=".gguf,.json" testId="model-gguf" label="Load a GGUF model file with its tokenizer files…" hint="One .gguf base model (llama, qwen2 or qwen3; Q8_0, Q4_0, Q4_K, Q6_K, F16 or F32 tensors) picked together with the original model's tokenizer.json and tokenizer_config.json (and generation_config.json if it has one). Its quantized weights are used as stored." onFiles={(f) => {
            void requestPersistentStorage();
            void importFolder(f);
          }} disabled={busy} />
      </div>

      <div className="card" data-testid="model-choice">
        <h2>Chosen: {model.id}</h2>
        <p className="muted">{model.source === 'local' ? 'From a local folder on this device.' : 'From the Hugging Face Hub (downloaded once, then cached in this browser).'}</p>
        {model.source === 'local' && (
          <div className="field" data-testid="local-hub-id">
            <label htmlFor="local-hub-id">Hugging Face model id of this folder</label>
            <input id="local-hub-id" value={model.hubId ?? model.id} onChange={(e) => setLocalHubId(e.target.value)} spellCheck={false} aria-invalid={!HUB_ID.test(baseModelName(model))} aria-describedby="local-hub-id-hint" />
            <small id="local-hub-id-hint" className="muted">
              Exports name it as the base model (adapter_config.json <code>base_model_name_or_path</code>, the GGUF metadata and the Ollama Modelfile), so others can load your adapter on the right model. Taken from config.json’s <code>_name_or_path</code> when it has one.
            </small>
            {!HUB_ID.test(baseModelName(model)) && <p className="bad small">“{baseModelName(model)}” is not a Hugging Face model id (owner/name).</p>}
          </div>
        )}
        {hubGguf && hubGguf.repo === model.id && (
          <div data-testid="hub-gguf">
            <fieldset>
              <legend>GGUF files in {hubGguf.repo}</legend>
              {hubGguf.files.map((f) => (
                <label key={f.name} className="choice">
                  <input type="radio" name="gguf-file" value={f.name} checked={hubGguf.file === f.name} disabled={busy || f.storage === null} onChange={() => void chooseGgufFile(f.name)} />
                  <span>
                    <code className="small">{f.name}</code> <span className="muted">— {f.quant ?? 'quant type not in the name'}, {formatBytes(f.size)}{f.storage === null ? ` (not a type the studio reads: ${READ_GGML_TYPES})` : ''}</span>
                  </span>
                </label>
              ))}
            </fieldset>
            {hubGguf.header && hubGguf.file && <p className="small muted" data-testid="gguf-header">{hubGguf.file}: {String(hubGguf.header.config.model_type)} model, {hubGguf.header.weightTypes} weights (checked from its header; its quantized weights are used as stored).</p>}
            <div className="field">
              <label htmlFor="gguf-tokenizer-repo">Original model (its tokenizer files)</label>
              <input id="gguf-tokenizer-repo" value={hubGguf.tokenizerRepo} onChange={(e) => setTokenizerRepo(e.target.value.trim())} placeholder="owner/model-name" spellCheck={false} aria-invalid={!HUB_ID.test(hubGguf.tokenizerRepo)} aria-describedby="gguf-tokenizer-hint" />
              <small id="gguf-tokenizer-hint" className="muted">
                A GGUF’s own tokenizer is not read: tokenizer.json, tokenizer_config.json (and generation_config.json) come from this repository and are checked against the GGUF’s tokens.{hubGguf.baseModel ? ` Taken from the model card’s base_model.` : ' The model card names no base_model: give it.'} Exports name it as the base model.
              </small>
            </div>
          </div>
        )}
        {isCached ? (
          <p className="ok" data-testid="model-cached">
            On this device — ready to train.
          </p>
        ) : model.source === 'hub' ? (
          <>
            <button
              type="button"
              onClick={() => {
                void requestPersistentStorage();
                void download();
              }}
              disabled={busy || refusal !== null || (hubGguf?.repo === model.id && (!model.gguf || !HUB_ID.test(model.gguf.tokenizerRepo)))}
              data-testid="download-model"
            >
              Download {model.id}
              {model.gguf ? ` ${model.gguf.file}` : ''}
              {memory ? ` (${formatBytes(memory.downloadBytes)})` : ''}
            </button>
            {refusal && (
              <p className="bad" data-testid="download-refused">
                {refusal}
              </p>
            )}
            <div className="field token-field" data-testid="hub-token">
              <label htmlFor="hub-token">Hugging Face access token</label>
              <input
                id="hub-token"
                type="password"
                autoComplete="off"
                spellCheck={false}
                value={hubToken}
                placeholder="hf_… (optional)"
                aria-describedby="hub-token-hint"
                onChange={(e) => setHubToken(e.target.value)}
              />
              <small id="hub-token-hint" className="muted">
                Only for gated or private models: a “read” token from huggingface.co/settings/tokens, after accepting the model’s license. It is sent to the Hub only, in a request header.
              </small>
              <label className="check">
                <input type="checkbox" checked={rememberToken} onChange={(e) => void setRememberToken(e.target.checked)} /> Remember on this device
              </label>
            </div>
          </>
        ) : (
          <p className="bad">{modelMissingMessage(model)}</p>
        )}
        {busy && (
          <div className="progress-row" role="status" aria-live="polite">
            <progress max={progress?.bytesTotal || 1} value={progress?.bytesDone ?? 0} aria-label="Model transfer" />
            <span>{progress ? `${progress.file ?? progress.phase}: ${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}${progress.bytesPerSecond ? `, ${formatBytes(progress.bytesPerSecond)}/s` : ''}` : 'Starting…'}</span>
            <button type="button" className="secondary" onClick={cancel}>
              Cancel
            </button>
          </div>
        )}
        <ErrorBox error={error} />
      </div>

      <div className="card" data-testid="model-cache">
        <h2>Models on this device</h2>
        {cached.length === 0 ? (
          <p className="muted">None yet.</p>
        ) : (
          <table className="limits">
            <tbody>
              {cached.map((m) => (
                <tr key={m.key}>
                  <th scope="row">
                    <code>{m.id}</code> <span className="muted small">({m.gguf ? `${m.source === 'hub' ? 'Hub' : 'local'} GGUF ${m.gguf.file}, ${m.gguf.weightTypes}${m.gguf.tokenizerRepo ? `, tokenizer from ${m.gguf.tokenizerRepo}` : ''}` : m.source === 'local' ? 'local folder' : `Hub${m.revision ? ` @ ${m.revision}` : ''}`})</span>
                  </th>
                  <td>{formatBytes(m.bytes)}</td>
                  <td>
                    <button type="button" className="secondary danger" onClick={() => confirm(`Delete the cached copy of ${m.id}?`) && void removeCached(m.key)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>

      <div className="card" data-testid="memory-estimate">
        <h2>Will it fit?</h2>
        <p className="muted">
          With the current training settings: rank {settings.rank}, {settings.targets.length} target layers, batch {settings.batchSize} × {settings.seqLen} tokens (change them on the Train screen).
        </p>
        <fieldset data-testid="weight-format">
          <legend>Base weight format</legend>
          {(['auto', ...WEIGHT_STORAGES] as WeightsFlag[]).map((w) => {
            const f = memory?.formats.find((x) => x.storage === w);
            return (
              <label key={w} className="choice">
                <input type="radio" name="weights" value={w} checked={weights === w} onChange={() => setWeights(w)} />
                <span>
                  <strong>{WEIGHT_LABELS[w]}</strong>{' '}
                  <span className="muted" data-testid={`weight-plan-${w}`}>
                    {w === 'auto' ? (memory?.requested === 'auto' ? `— picks ${memory.storage} here` : '— the most precise format whose plan fits this GPU') : !f ? '' : f.problem ? `— cannot run here: ${f.problem}` : `— ${formatBytes(f.totalBytes ?? 0)} to train (weights ${formatBytes(f.weightBytes ?? 0)})`}
                  </span>
                </span>
              </label>
            );
          })}
          {memory && (
            <p className="small muted" data-testid="weight-reason">
              {memory.storage}: {memory.reason}. Download: {formatBytes(memory.downloadBytes)} {model.gguf ? `(the GGUF file; its quantized tensors are planned as stored, the format applies to its float tensors)` : '(the published checkpoint; q8 and q4 quantize it while loading)'}.
            </p>
          )}
        </fieldset>
        {memoryError && <p className="bad">{memoryError}</p>}
        {memory && (
          <>
            <p>
              <Verdict r={memory} /> — training allocates <strong>{formatBytes(memory.totalBytes)}</strong> of GPU memory ({memory.storage} base weights).
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
                  <th scope="row">Activations and step scratch</th>
                  <td>{formatBytes(memory.activationBytes)}</td>
                  <td className="muted">grows with batch × sequence length; recompute: {memory.recompute}</td>
                </tr>
                <tr>
                  <th scope="row">Trainer buffers</th>
                  <td>{formatBytes(memory.otherBytes)}</td>
                  <td className="muted">loss, gradient norm, RoPE table</td>
                </tr>
                <tr>
                  <th scope="row">Largest single tensor</th>
                  <td>{formatBytes(memory.largestTensorBytes)}</td>
                  <td className="muted">the token embedding or LM head, in one buffer</td>
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

const WEIGHT_LABELS: Record<WeightsFlag, string> = {
  auto: 'Auto',
  f32: 'f32 (matches PyTorch)',
  f16: 'f16 (half the weight memory; needs shader-f16)',
  q8: 'q8 — 8-bit Q8_0, quantized on load',
  q4: 'q4 — 4-bit Q4_0 (QLoRA), embedding and LM head 8-bit',
};
