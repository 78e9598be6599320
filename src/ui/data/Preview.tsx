import type { Example } from '../../worker/client';

type Message = Example['messages'][number];

/** Which turns the default loss trains on (DESIGN: assistant turns; completion; all of plain text). */
function trained(e: Example, role: string): boolean {
  return e.kind === 'text' || role === 'assistant';
}

function Turns({ e, messages }: { e: Example; messages: readonly Message[] }) {
  return messages.map((m, i) => (
    <div key={i} className={`turn ${m.role}`}>
      <span className="role">{m.role}</span>
      {trained(e, m.role) ? <mark className="trained">{m.content}</mark> : <span>{m.content}</span>}
    </div>
  ));
}

/** The first examples as they will be trained, trained parts highlighted. */
export function Preview({ examples }: { examples: Example[] }) {
  return (
    <div className="card" data-testid="dataset-preview">
      <h2>Preview</h2>
      <p className="muted">
        <mark className="trained">Highlighted</mark> text is what the model learns to produce (assistant turns; the completion; all of plain text). The rest is context. Count tokens below to see the exact tokens that train with the chosen model’s tokenizer.
      </p>
      <ol className="preview">
        {examples.map((e) => (
          <li key={e.row}>
            <div className="muted small">
              record {e.row + 1}
              {e.line ? `, line ${e.line}` : ''} · {e.kind}
            </div>
            <Turns e={e} messages={e.messages} />
            {/* A preference pair trains on both completions after the shared prompt: each is shown. */}
            {e.kind === 'preference' &&
              (['chosen', 'rejected'] as const).map((side) => (
                <div key={side} className="pair-side" data-side={side}>
                  <div className="muted small">{side}</div>
                  <Turns e={e} messages={e[side]} />
                </div>
              ))}
          </li>
        ))}
      </ol>
    </div>
  );
}
