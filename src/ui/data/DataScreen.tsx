import { useEffect } from 'react';
import { useDataset } from '../../store/dataset';
import { useTrain } from '../../store/training';
import { objectiveDataProblem } from '../../worker/settings';
import { DropZone } from '../common/DropZone';
import { ErrorBox } from '../common/ErrorBox';
import { formatBytes, formatExampleCount } from '../common/format';
import { Histogram } from '../common/Histogram';
import { FormatPicker } from './FormatPicker';
import { RowErrors } from './RowErrors';
import { Preview } from './Preview';
import { TokenStats } from './TokenStats';

/** Where the sample dataset is served from (public/samples/, provided with the app). */
export const SAMPLE_DATASET = { url: `${import.meta.env.BASE_URL}samples/calendar-lines.jsonl`, name: 'calendar-lines.jsonl' };

export function DataScreen() {
  const { report, progress, busy, error, excludeInvalid, removeDuplicates, saved, loadFile, loadUrl, cancel, setConsent, save, reopen } = useDataset();
  useEffect(() => {
    void reopen();
  }, [reopen]);

  const objective = useTrain((s) => s.settings.objective);
  const problems = report ? report.invalidRowCount + report.fileErrors.length : 0;
  const pairs = report?.format === 'preference';
  // The Train screen's objective against what this file holds (pairs need DPO/ORPO, single answers SFT).
  const objectiveProblem = report && report.exampleCount > 0 ? objectiveDataProblem({ pairs, count: report.exampleCount }, objective) : null;
  const canSave = !!report && !!report.mapping && report.exampleCount > 0 && (problems === 0 || excludeInvalid);

  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1}>Dataset</h1>
      <p className="lead">Your file is read on this device only. Chat (messages or ShareGPT), Alpaca, prompt/completion and plain text; JSONL, JSON, CSV, TSV or Parquet.</p>

      <div className="card">
        <DropZone testId="dataset-drop" label="Choose a dataset file…" hint="…or drop it here." accept=".jsonl,.json,.csv,.tsv,.parquet,.txt" onFiles={(f) => void loadFile(f[0])} disabled={busy} />
        <p>
          <button type="button" className="link" onClick={() => void loadUrl(SAMPLE_DATASET.url, SAMPLE_DATASET.name)} disabled={busy} data-testid="load-sample">
            Or try the sample dataset
          </button>
        </p>
        {busy && (
          <div className="progress-row" role="status" aria-live="polite">
            <progress max={progress?.totalBytes || 1} value={progress?.bytesRead ?? 0} aria-label="Reading the dataset" />
            <span>{progress ? `${progress.records} records, ${progress.errors} problems` : 'Reading…'}</span>
            <button type="button" className="secondary" onClick={cancel}>
              Cancel
            </button>
          </div>
        )}
      </div>
      <ErrorBox error={error} />

      {report && (
        <>
          <div className="card" data-testid="dataset-summary">
            <h2>{report.fileName}</h2>
            <dl className="kv">
              <dt>Size</dt>
              <dd>{formatBytes(report.size)}</dd>
              <dt>Container</dt>
              <dd>{report.fileType.toUpperCase()}</dd>
              <dt>Records</dt>
              <dd data-testid="record-count">{report.recordCount}</dd>
              <dt>Valid examples</dt>
              <dd data-testid="example-count">{report.exampleCount}</dd>
              <dt>Trains with</dt>
              <dd data-testid="dataset-objective">
                {pairs ? 'preference pairs (prompt, chosen, rejected): DPO or ORPO' : 'one answer per example: supervised fine-tuning (SFT)'}
              </dd>
              <dt>Invalid rows</dt>
              <dd data-testid="invalid-count" className={report.invalidRowCount ? 'bad' : ''}>
                {report.invalidRowCount}
              </dd>
              <dt>Duplicates</dt>
              <dd>{report.duplicateCount}</dd>
            </dl>
            {objectiveProblem && (
              <p className="warn-text" data-testid="objective-mismatch">
                The Train screen's objective does not fit this file: {objectiveProblem}. <a href="#/train">Change the objective on the Train screen.</a>
              </p>
            )}
            {report.fileErrors.map((f) => (
              <p key={f.code + f.message} className="bad" role="alert">
                {f.message}
              </p>
            ))}
            {report.warnings.length > 0 && (
              <ul className="warnings" data-testid="dataset-warnings">
                {report.warnings.map((w) => (
                  <li key={w.code} data-code={w.code}>
                    {w.message}
                  </li>
                ))}
              </ul>
            )}
          </div>

          <FormatPicker report={report} />
          <RowErrors report={report} />

          {report.exampleCount > 0 && (
            <div className="card">
              <h2>Lengths</h2>
              <Histogram values={report.charLengths} unit="chars" label={`Characters per example (${report.charLengths.length} examples); count tokens below for the model's view.`} />
            </div>
          )}
          <TokenStats />

          {report.preview.length > 0 && <Preview examples={report.preview} />}

          <div className="card" data-testid="dataset-save">
            <h2>Use for training</h2>
            {problems > 0 && (
              <label className="choice">
                <input type="checkbox" checked={excludeInvalid} onChange={(e) => setConsent({ excludeInvalid: e.target.checked })} data-testid="consent-exclude" />
                <span>
                  Train without the {report.invalidRowCount} invalid row{report.invalidRowCount === 1 ? '' : 's'} listed above
                  {report.fileErrors.length ? ' and the unreadable part of the file' : ''}.
                </span>
              </label>
            )}
            {report.duplicateCount > 0 && (
              <label className="choice">
                <input type="checkbox" checked={removeDuplicates} onChange={(e) => setConsent({ removeDuplicates: e.target.checked })} />
                <span>Remove the {report.duplicateCount} exact duplicates (keeps the first of each).</span>
              </label>
            )}
            <button type="button" disabled={!canSave} onClick={() => void save()} data-testid="save-dataset">
              Save dataset for training
            </button>
            {!report.mapping && <p className="muted">Choose a format or field mapping first.</p>}
            {problems > 0 && !excludeInvalid && <p className="muted">Fix the file, or agree to exclude the invalid rows.</p>}
            {saved && (
              <p className="ok" data-testid="dataset-saved">
                Saved: {formatExampleCount(saved.examples, saved.pairs)} from {saved.name}. <a href="#/model">Next: choose a base model →</a>
              </p>
            )}
          </div>
        </>
      )}
    </section>
  );
}
