import { useDataset } from '../../store/dataset';
import { useModel } from '../../store/model';
import { useSeqLen, useTrain } from '../../store/training';
import { ErrorBox } from '../common/ErrorBox';
import { Histogram } from '../common/Histogram';
import { LOSS_MODES } from '../../worker/settings';

/** Token counts with the chosen model's tokenizer, truncation at the sequence length, and the exact trained tokens. */
export function TokenStats() {
  const { tokens, tokenizing, tokenError, countTokens, report } = useDataset();
  const model = useModel((s) => s.model);
  const seqLen = useSeqLen().effective; // what training will use with this model
  const lossMode = useTrain((s) => s.settings.lossMode);
  const modeLabel = (id: string) => LOSS_MODES.find((m) => m.id === id)?.label ?? id;
  if (!report || report.exampleCount === 0) return null;
  const t = tokens?.stats;
  return (
    <div className="card" data-testid="token-stats">
      <h2>Tokens</h2>
      <p className="muted">Tokenized with the tokenizer of the base model chosen on the Model screen ({model.id}); it must be on this device. Trained tokens follow “Train on” from the Train screen: <strong data-testid="token-loss-mode">{modeLabel(lossMode)}</strong>.</p>
      <button type="button" className="secondary" disabled={!!tokenizing} onClick={() => void countTokens(model, seqLen, lossMode)} data-testid="count-tokens">
        {tokenizing ? `Tokenizing… ${tokenizing.done} / ${tokenizing.total}` : `Count tokens with ${model.id.split('/').pop()}`}
      </button>
      <ErrorBox error={tokenError} />
      {tokens && tokens.lossMode !== lossMode && (
        <p className="warn-text small" data-testid="token-mode-stale">
          Counted for training on {modeLabel(tokens.lossMode)}; the Train screen now says {modeLabel(lossMode)}. Count again to see what will train.
        </p>
      )}
      {t && tokens && (
        <>
          <p data-testid="tokenized-as">{tokens.tokenizedAs.join(' ')}</p>
          <dl className="kv">
            <dt>Examples</dt>
            <dd>{t.examples}</dd>
            <dt>Tokens</dt>
            <dd data-testid="total-tokens">{t.totalTokens}</dd>
            <dt>Trained tokens</dt>
            <dd data-testid="trained-tokens">
              {t.trainedTokens} ({(t.trainedShare * 100).toFixed(1)}%)
            </dd>
            <dt>Length min / median / p95 / max</dt>
            <dd>
              {t.minLength} / {t.medianLength} / {t.p95Length} / {t.maxLength}
            </dd>
            {t.truncation && (
              <>
                <dt>Longer than {t.truncation.maxLength}</dt>
                <dd className={t.truncation.overLength ? 'warn-text' : ''}>
                  {t.truncation.overLength} examples lose {t.truncation.tokensLost} tokens ({t.truncation.trainedTokensLost} trained)
                  {t.truncation.fullyTruncatedRows.length > 0 && `; ${t.truncation.fullyTruncatedRows.length} keep nothing to train`}
                </dd>
              </>
            )}
          </dl>
          {tokens.templateErrors.length > 0 && (
            <p className="bad">
              {tokens.templateErrors.length} examples could not be rendered with the chat template (first: row {tokens.templateErrors[0].row + 1}: {tokens.templateErrors[0].message}).
            </p>
          )}
          <Histogram values={tokens.lengths} unit="tokens" label={`Tokens per example with ${tokens.model}`} />
          <h3>Exactly what trains</h3>
          <ol className="preview">
            {tokens.preview.map((p) => (
              <li key={p.row}>
                <div className="muted small">record {p.row + 1}</div>
                <div className="tokens">
                  {p.segments.map((s, i) =>
                    s.trained ? (
                      <mark key={i} className="trained">
                        {s.text}
                      </mark>
                    ) : (
                      <span key={i}>{s.text}</span>
                    ),
                  )}
                </div>
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
