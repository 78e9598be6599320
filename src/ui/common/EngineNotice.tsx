import type { Readiness } from '../../worker/client';

/** Says plainly that a part of the engine is not in this build, instead of faking it. */
export function EngineNotice({ what, readiness }: { what: string; readiness: Readiness | undefined }) {
  if (!readiness || readiness.ready) return null;
  return (
    <div className="card warn" role="status" data-testid="engine-not-ready">
      <strong>Engine not ready — {what}.</strong> <span>{readiness.reason}</span>
    </div>
  );
}

export function ErrorBox({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <div className="card error" role="alert" data-testid="error">
      {error}
    </div>
  );
}
