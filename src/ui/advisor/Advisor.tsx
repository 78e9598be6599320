import { useState } from 'react';
import { decide, nextQuestion, type Answers, type Question } from './decide';
import { MachineCheck } from './MachineCheck';

const KEYS: Question['key'][] = ['problem', 'knowledge', 'prompting', 'data', 'pairs'];

/** "Should I fine-tune?": one question at a time, then a recommendation with its reasons and costs. */
export function Advisor() {
  const [answers, setAnswers] = useState<Answers>({});
  const q = nextQuestion(answers);
  const rec = q ? null : decide(answers);
  const answered = KEYS.filter((k) => answers[k] !== undefined);

  return (
    <section aria-labelledby="screen-title" className="advisor">
      <h1 id="screen-title" tabIndex={-1}>Should I fine-tune?</h1>
      <p className="lead">Fine-tuning is powerful but it is rarely the first thing to try. A few questions tell you whether a better prompt, retrieval or a fine-tune fits your problem — and what each really costs.</p>

      {answered.length > 0 && (
        <ol className="answers" aria-label="Your answers">
          {answered.map((k, i) => (
            <li key={k}>
              <AnsweredLine k={k} answers={answers} />{' '}
              <button type="button" className="link" onClick={() => setAnswers(Object.fromEntries(answered.slice(0, i).map((kk) => [kk, answers[kk]])))}>
                change
              </button>
            </li>
          ))}
        </ol>
      )}

      {q && <QuestionCard key={q.key} q={q} onAnswer={(v) => setAnswers({ ...answers, [q.key]: v })} />}

      {rec && (
        <div className={`card recommendation ${rec.fineTune ? 'go' : ''}`} data-testid="recommendation" data-rec={rec.id}>
          <h2 tabIndex={-1} ref={(el) => el?.focus()}>
            {rec.title}
          </h2>
          <h3>Why</h3>
          <ul>
            {rec.why.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
          <h3>What it costs</h3>
          <ul>
            {rec.costs.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
          <h3>Next</h3>
          <ul>
            {rec.next.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
          <div className="actions">
            {rec.fineTune && (
              <a className="button" href="#/data" data-testid="go-data">
                Start: load your dataset →
              </a>
            )}
            <button type="button" className="secondary" onClick={() => setAnswers({})}>
              Start over
            </button>
          </div>
        </div>
      )}

      <MachineCheck />
    </section>
  );
}

function AnsweredLine({ k, answers }: { k: Question['key']; answers: Answers }) {
  // Rebuild the question that was on screen for this key to show its chosen label.
  const before = Object.fromEntries(KEYS.slice(0, KEYS.indexOf(k)).map((kk) => [kk, answers[kk]])) as Answers;
  const q = nextQuestion(before);
  const choice = q?.key === k ? (q.choices as { value: string; label: string }[]).find((c) => c.value === answers[k]) : undefined;
  return (
    <span>
      <span className="muted">{q?.text ?? k}</span> <strong>{choice?.label ?? String(answers[k])}</strong>
    </span>
  );
}

function QuestionCard({ q, onAnswer }: { q: Question; onAnswer: (v: string) => void }) {
  const [picked, setPicked] = useState<string | null>(null);
  return (
    <form
      className="card question"
      data-testid={`question-${q.key}`}
      onSubmit={(e) => {
        e.preventDefault();
        if (picked) onAnswer(picked);
      }}
    >
      <fieldset>
        <legend>{q.text}</legend>
        {(q.choices as { value: string; label: string; hint: string }[]).map((c, i) => (
          <label key={c.value} className="choice">
            <input type="radio" name={q.key} value={c.value} checked={picked === c.value} onChange={() => setPicked(c.value)} autoFocus={i === 0} />
            <span>
              <strong>{c.label}</strong>
              {c.hint && <span className="muted"> — {c.hint}</span>}
            </span>
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={!picked}>
        Next
      </button>
    </form>
  );
}
