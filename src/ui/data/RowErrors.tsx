import { useState } from 'react';
import type { DatasetReport } from '../../worker/client';

const PAGE = 50;

/** Every row problem: record, line, field and what was expected. */
export function RowErrors({ report }: { report: DatasetReport }) {
  const [shown, setShown] = useState(PAGE);
  if (report.errors.length === 0) return null;
  return (
    <div className="card" data-testid="row-errors">
      <h2>
        {report.errorCount} problem{report.errorCount === 1 ? '' : 's'} in {report.invalidRowCount} row{report.invalidRowCount === 1 ? '' : 's'}
      </h2>
      <div className="table-scroll">
        <table className="limits">
          <thead>
            <tr>
              <th scope="col">Record</th>
              <th scope="col">Line</th>
              <th scope="col">Field</th>
              <th scope="col">Problem</th>
            </tr>
          </thead>
          <tbody>
            {report.errors.slice(0, shown).map((e, i) => (
              <tr key={i} data-row={e.row} data-line={e.line ?? ''}>
                <td>{e.row + 1}</td>
                <td>{e.line ?? '—'}</td>
                <td>
                  <code>{e.field ?? '—'}</code>
                </td>
                <td>{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {shown < report.errors.length && (
        <button type="button" className="secondary" onClick={() => setShown(shown + PAGE)}>
          Show more ({report.errors.length - shown} left)
        </button>
      )}
    </div>
  );
}
