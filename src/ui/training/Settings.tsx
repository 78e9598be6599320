import { useTrain } from '../../store/training';
import { EXPLAIN, LORA_TARGETS, LOSS_MODES, PRESETS, loraScale, type LossMode, type PresetId, type Schedule, type TrainSettings } from '../../worker/settings';
import { Field } from '../common/Field';

type NumKey = { [K in keyof TrainSettings]: TrainSettings[K] extends number ? K : never }[keyof TrainSettings];

const GROUPS: { title: string; fields: { key: NumKey; label: string; step?: number }[] }[] = [
  { title: 'Adapter', fields: [{ key: 'rank', label: 'Rank (r)' }, { key: 'alpha', label: 'Alpha' }, { key: 'dropout', label: 'Dropout', step: 0.01 }] },
  { title: 'Optimizer', fields: [{ key: 'learningRate', label: 'Learning rate', step: 1e-5 }, { key: 'warmupSteps', label: 'Warm-up steps' }] },
  { title: 'Length of training', fields: [{ key: 'epochs', label: 'Epochs' }, { key: 'maxSteps', label: 'Max steps' }] },
  { title: 'Batches', fields: [{ key: 'batchSize', label: 'Batch size' }, { key: 'gradAccum', label: 'Gradient accumulation' }, { key: 'seqLen', label: 'Sequence length' }] },
  { title: 'Evaluation', fields: [{ key: 'valSplit', label: 'Validation split', step: 0.01 }, { key: 'evalEvery', label: 'Evaluate every' }, { key: 'sampleEvery', label: 'Sample every' }, { key: 'checkpointEvery', label: 'Checkpoint every' }, { key: 'seed', label: 'Seed' }] },
];

/** `notes`: a line about a field's value for the chosen model (shown with its explanation). */
export function Settings({ errors, notes = {}, disabled }: { errors: Partial<Record<keyof TrainSettings, string>>; notes?: Partial<Record<keyof TrainSettings, string>>; disabled: boolean }) {
  const { settings, preset, applyPreset, set } = useTrain();
  return (
    <div className="card" data-testid="train-settings">
      <h2>Settings</h2>
      <fieldset className="presets" disabled={disabled}>
        <legend>Presets</legend>
        {(Object.keys(PRESETS) as PresetId[]).map((id) => (
          <label key={id} className="choice">
            <input type="radio" name="preset" checked={preset === id} onChange={() => applyPreset(id)} />
            <span>
              <strong>{PRESETS[id].label}</strong> <span className="muted">— {PRESETS[id].hint}</span>
            </span>
          </label>
        ))}
        {preset === 'custom' && <p className="muted">Custom settings.</p>}
      </fieldset>
      <fieldset disabled={disabled}>
        <legend>LoRA targets</legend>
        <div className="targets">
          {LORA_TARGETS.map((t) => (
            <label key={t} className="check">
              <input type="checkbox" checked={settings.targets.includes(t)} onChange={(e) => set('targets', e.target.checked ? [...settings.targets, t] : settings.targets.filter((x) => x !== t))} /> <code>{t}</code>
            </label>
          ))}
        </div>
        <small className="muted">{EXPLAIN.targets}</small>
        {errors.targets && <small className="bad"> {errors.targets}</small>}
      </fieldset>
      <fieldset disabled={disabled}>
        <legend>Loss</legend>
        <Field label="Train on" hint={EXPLAIN.lossMode} error={errors.lossMode}>
          {(id, describedBy) => (
            <select id={id} aria-describedby={describedBy} aria-invalid={!!errors.lossMode} value={settings.lossMode} onChange={(e) => set('lossMode', e.target.value as LossMode)}>
              {LOSS_MODES.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.label}
                  {m.id === 'all-assistant' ? ' (default)' : ''}
                </option>
              ))}
            </select>
          )}
        </Field>
      </fieldset>
      <div className="settings-grid">
        {GROUPS.map((g) => (
          <fieldset key={g.title} disabled={disabled}>
            <legend>{g.title}</legend>
            {g.fields.map((f) => (
              <Field key={f.key} label={f.label} hint={notes[f.key] ? `${EXPLAIN[f.key]} ${notes[f.key]}` : EXPLAIN[f.key]} error={errors[f.key]}>
                {(id, describedBy) => (
                  <input
                    id={id}
                    type="number"
                    step={f.step ?? 1}
                    value={Number.isFinite(settings[f.key]) ? settings[f.key] : ''}
                    aria-describedby={describedBy}
                    aria-invalid={!!errors[f.key]}
                    onChange={(e) => set(f.key, e.target.value === '' ? NaN : Number(e.target.value))}
                  />
                )}
              </Field>
            ))}
            {g.title === 'Adapter' && (
              <>
                <label className="check">
                  <input type="checkbox" checked={settings.rslora} onChange={(e) => set('rslora', e.target.checked)} /> rsLoRA scaling
                </label>
                <small className="muted">
                  {EXPLAIN.rslora} Scale now: {loraScale(settings).toFixed(3)}.
                </small>
              </>
            )}
            {g.title === 'Optimizer' && (
              <Field label="Schedule" hint={EXPLAIN.schedule}>
                {(id, describedBy) => (
                  <select id={id} aria-describedby={describedBy} value={settings.schedule} onChange={(e) => set('schedule', e.target.value as Schedule)}>
                    <option value="constant">constant</option>
                    <option value="linear">linear decay</option>
                    <option value="cosine">cosine decay</option>
                  </select>
                )}
              </Field>
            )}
          </fieldset>
        ))}
      </div>
    </div>
  );
}
