import { useEffect, useRef, useState } from 'react';
import { useModel } from '../../store/model';
import { useRuns } from '../../store/runs';
import { useEvaluation } from '../../store/evaluation';
import { callback, errorMessage, trainer, type GenerateRequest } from '../../worker/client';
import { speedLine } from './speed';
import { Field } from '../common/Field';

type Column = 'baseline' | 'base' | 'tuned';
interface Output {
  text: string;
  busy: boolean;
  error: string | null;
  stats: string;
}
const EMPTY: Output = { text: '', busy: false, error: null, stats: '' };

export function Playground() {
  const model = useModel((s) => s.model);
  const { adapters, refresh } = useRuns();
  useEffect(() => {
    void refresh();
  }, [refresh]);

  const [prompt, setPrompt] = useState('');
  // The prompted baseline is shared with the Evaluate screen: what is tried here is what it scores.
  const system = useEvaluation((s) => s.systemPrompt);
  const setSystem = useEvaluation((s) => s.setSystemPrompt);
  const fewShot = useEvaluation((s) => s.fewShotText);
  const setFewShot = useEvaluation((s) => s.setFewShotText);
  const [adapterId, setAdapterId] = useState<string>('');
  const [scale, setScale] = useState(1);
  const [temperature, setTemperature] = useState(0.7);
  const [topP, setTopP] = useState(0.9);
  const [maxNewTokens, setMaxNewTokens] = useState(200);
  const [seed, setSeed] = useState(1);
  const [out, setOut] = useState<Record<Column, Output>>({ baseline: EMPTY, base: EMPTY, tuned: EMPTY });
  const generation = useRef(0);

  const adapter = adapters.find((a) => a.id === adapterId);

  async function runColumn(col: Column, gen: number) {
    // The worker composes the baseline's conversation as the evaluation does.
    const req: GenerateRequest = {
      model: adapter ? { id: adapter.baseModel, source: model.source } : model,
      adapterId: col === 'tuned' ? adapterId : null,
      adapterScale: scale,
      messages: [{ role: 'user', content: prompt }],
      ...(col === 'baseline' ? { baseline: { systemPrompt: system, fewShotText: fewShot } } : {}),
      maxNewTokens,
      temperature,
      topP,
      seed,
    };
    const update = (o: Partial<Output>) => gen === generation.current && setOut((prev) => ({ ...prev, [col]: { ...prev[col], ...o } }));
    update({ text: '', busy: true, error: null, stats: '' });
    try {
      let text = '';
      const r = await trainer().generate(
        req,
        callback((t: string) => {
          text += t;
          update({ text });
        }),
      );
      update({ text: r.text, stats: speedLine(r) });
    } catch (e) {
      update({ error: errorMessage(e) });
    } finally {
      update({ busy: false });
    }
  }

  // Without a system prompt or examples the baseline would only repeat the base column
  // (blank text is the only way to have no examples: eval/eval-set writtenShots).
  const baselineEmpty = !system.trim() && !fewShot.trim();

  async function runAll() {
    const gen = ++generation.current;
    // One GPU: the columns run one after another.
    const cols = [...(baselineEmpty ? [] : ['baseline']), 'base', ...(adapterId ? ['tuned'] : [])] as Column[];
    for (const col of cols) await runColumn(col, gen);
  }

  const busy = Object.values(out).some((o) => o.busy);
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1}>Playground</h1>
      <p className="lead">The same prompt through a prompted baseline, the base model and your tuned model — to see whether the fine-tune beats a good prompt.</p>
      <form
        className="card"
        onSubmit={(e) => {
          e.preventDefault();
          void runAll();
        }}
      >
        <Field label="Prompt" hint="Empty: a base model writes from nothing (its start-of-text token).">{(id, d) => <textarea id={id} aria-describedby={d} rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} />}</Field>
        <div className="grid2">
          <Field label="Adapter" hint={adapter ? `Trained on ${adapter.baseModel}, rank ${adapter.rank}` : 'Train one, or import one on the Runs screen.'}>
            {(id, d) => (
              <select id={id} aria-describedby={d} value={adapterId} onChange={(e) => setAdapterId(e.target.value)}>
                <option value="">— none —</option>
                {adapters.map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label={`Adapter scale: ${scale.toFixed(2)}×`} hint="Multiplies the adapter's effect: 0 is the base model, 1 as trained.">
            {(id, d) => <input id={id} aria-describedby={d} type="range" min={0} max={2} step={0.05} value={scale} onChange={(e) => setScale(Number(e.target.value))} />}
          </Field>
          <Field label="Temperature" hint="0 picks the most likely token every time.">
            {(id, d) => <input id={id} aria-describedby={d} type="number" min={0} max={2} step={0.05} value={temperature} onChange={(e) => setTemperature(Number(e.target.value))} />}
          </Field>
          <Field label="Top-p" hint="Samples only from the most likely tokens that make up this share of probability.">
            {(id, d) => <input id={id} aria-describedby={d} type="number" min={0.05} max={1} step={0.05} value={topP} onChange={(e) => setTopP(Number(e.target.value))} />}
          </Field>
          <Field label="Max new tokens">{(id) => <input id={id} type="number" min={1} max={2048} value={maxNewTokens} onChange={(e) => setMaxNewTokens(Number(e.target.value))} />}</Field>
          <Field label="Seed" hint="Same seed, same settings: same output in every column.">
            {(id, d) => <input id={id} aria-describedby={d} type="number" min={0} value={seed} onChange={(e) => setSeed(Number(e.target.value))} />}
          </Field>
        </div>
        <details>
          <summary>Baseline prompt: system prompt and few-shot examples</summary>
          <Field label="System prompt">{(id) => <textarea id={id} rows={2} value={system} onChange={(e) => setSystem(e.target.value)} />}</Field>
          <p className="muted small">The Evaluate screen scores this same baseline on held-out examples.</p>
          <Field label="Few-shot examples" hint="Lines starting with “user:” and “assistant:”; each answer closes an example.">
            {(id, d) => <textarea id={id} aria-describedby={d} rows={4} value={fewShot} onChange={(e) => setFewShot(e.target.value)} placeholder={'user: …\nassistant: …'} />}
          </Field>
        </details>
        <button type="submit" disabled={busy} data-testid="generate">
          {busy ? 'Generating…' : 'Generate'}
        </button>
      </form>
      <div className="columns3" data-testid="playground-columns">
        {(
          [
            ['baseline', 'Prompted baseline', 'base model + system prompt + examples'],
            ['base', 'Base model', model.id],
            ['tuned', 'Tuned', adapter ? `${adapter.name} × ${scale.toFixed(2)}` : 'choose an adapter'],
          ] as const
        ).map(([col, title, sub]) => (
          <div key={col} className="card output-col" aria-live="polite" aria-busy={out[col].busy} data-col={col}>
            <h2>{title}</h2>
            <p className="muted small">{sub}</p>
            {col === 'baseline' && baselineEmpty ? (
              <p className="muted" data-testid="baseline-empty">
                Add a system prompt or a few examples under “Baseline prompt” to see whether prompting alone gets you there.
              </p>
            ) : out[col].error ? (
              <p className="bad">{out[col].error}</p>
            ) : (
              <pre className="output">{out[col].text || (out[col].busy ? '…' : '')}</pre>
            )}
            {out[col].stats && (
              <p className="muted small" data-testid="gen-stats">
                {out[col].stats}
              </p>
            )}
          </div>
        ))}
      </div>
    </section>
  );
}
