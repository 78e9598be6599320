// The Train screen's settings: presets, then every setting of the declaration (SETTINGS in
// src/train/settings.ts) in its group, rendered by its kind. Nothing here lists settings.
import { useTrain } from '../../store/training';
import { EXPLAIN, PRESETS, SETTING_GROUPS, SETTING_KEYS, inapplicableReason, loraScale, settingSpec, type PresetId, type SettingGroup, type SettingKey, type TrainSettings } from '../../worker/settings';
import { Field } from '../common/Field';

/** Groups shown full width above the grid of the others. */
const WIDE: readonly SettingGroup[] = ['targets', 'loss'];

/** Live figures shown after a setting's explanation. */
const AFTER_HINT: Partial<Record<SettingKey, (s: TrainSettings) => string>> = {
  rslora: (s) => `Scale now: ${loraScale(s).toFixed(3)}.`,
};

type Errors = Partial<Record<SettingKey, string>>;
type Setter = <K extends SettingKey>(key: K, value: TrainSettings[K]) => void;

/** Choices of a setting that cannot be taken now, each with why (the objectives a dataset cannot train). */
export type OffChoices = Partial<Record<SettingKey, Partial<Record<string, string>>>>;

/** One setting's control, label, explanation and error (exported for the settings' surface test). */
export function SettingControl({ k, settings, errors, note, offChoices = {}, set }: { k: SettingKey; settings: TrainSettings; errors: Errors; note?: string; offChoices?: Partial<Record<string, string>>; set: Setter }) {
  const spec = settingSpec(k);
  const error = errors[k];
  const after = AFTER_HINT[k]?.(settings);
  // A setting of another objective (β under ORPO) stays visible, disabled, with the reason.
  const off = inapplicableReason(k, settings.objective);
  // A choice that cannot be taken now stays listed, disabled, with the reason.
  const offs = Object.values(offChoices).map((why) => `Not offered: ${why}.`);
  const hint = [off && `Not used: ${off}.`, EXPLAIN[k], note, ...offs, after].filter(Boolean).join(' ');
  const value: unknown = settings[k];
  // Each branch writes a value of the setting's own kind.
  const put = set as (key: SettingKey, value: unknown) => void;
  switch (spec.kind) {
    case 'number':
      return (
        <Field label={spec.label} hint={hint} error={error}>
          {(id, describedBy) => (
            <input
              id={id}
              type="number"
              step={spec.step ?? 1}
              disabled={!!off}
              value={Number.isFinite(value) ? (value as number) : ''}
              aria-describedby={describedBy}
              aria-invalid={!!error}
              onChange={(e) => put(k, e.target.value === '' ? NaN : Number(e.target.value))}
            />
          )}
        </Field>
      );
    case 'choice':
      return (
        <Field label={spec.label} hint={hint} error={error}>
          {(id, describedBy) => (
            <select id={id} disabled={!!off} aria-describedby={describedBy} aria-invalid={!!error} value={value as string} onChange={(e) => put(k, e.target.value)}>
              {spec.choices.map((c) => (
                <option key={c.id} value={c.id} disabled={!!offChoices[c.id]} title={offChoices[c.id]}>
                  {c.label}
                  {c.id === spec.default ? ' (default)' : ''}
                  {offChoices[c.id] ? ' — not for this dataset' : ''}
                </option>
              ))}
            </select>
          )}
        </Field>
      );
    case 'boolean':
      return (
        <>
          <label className="check">
            <input type="checkbox" disabled={!!off} checked={value as boolean} onChange={(e) => put(k, e.target.checked)} /> {spec.label}
          </label>
          <small className="muted">{hint}</small>
          {error && <small className="bad"> {error}</small>}
        </>
      );
    case 'list': {
      const chosen = value as string[];
      return (
        <>
          <div className="targets" role="group" aria-label={spec.label}>
            {spec.choices.map((t) => (
              <label key={t} className="check">
                <input type="checkbox" disabled={!!off} checked={chosen.includes(t)} onChange={(e) => put(k, e.target.checked ? [...chosen, t] : chosen.filter((x) => x !== t))} /> <code>{t}</code>
              </label>
            ))}
          </div>
          <small className="muted">{hint}</small>
          {error && <small className="bad"> {error}</small>}
        </>
      );
    }
  }
}

/** `notes`: a line about a field's value for the chosen model (shown with its explanation); `offChoices`: choices disabled, with why. */
export function Settings({ errors, notes = {}, offChoices = {}, disabled }: { errors: Errors; notes?: Partial<Record<SettingKey, string>>; offChoices?: OffChoices; disabled: boolean }) {
  const { settings, preset, applyPreset, set } = useTrain();
  const group = (g: (typeof SETTING_GROUPS)[number]) => (
    <fieldset key={g.id} disabled={disabled}>
      <legend>{g.title}</legend>
      {SETTING_KEYS.filter((k) => settingSpec(k).group === g.id).map((k) => (
        <SettingControl key={k} k={k} settings={settings} errors={errors} note={notes[k]} offChoices={offChoices[k]} set={set} />
      ))}
    </fieldset>
  );
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
      {SETTING_GROUPS.filter((g) => WIDE.includes(g.id)).map(group)}
      <div className="settings-grid">{SETTING_GROUPS.filter((g) => !WIDE.includes(g.id)).map(group)}</div>
    </div>
  );
}
