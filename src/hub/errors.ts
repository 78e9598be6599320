// The errors a user meets when fetching or opening a model, each with a stable code the UI
// can branch on and a message written for the user (what happened, what to do).

export type HubErrorCode =
  | 'network' // the Hub could not be reached, or the connection kept breaking
  | 'not-found' // no such repo, revision or file
  | 'gated' // gated or private repo: license not accepted, or no/invalid token
  | 'unsupported-architecture' // config.json model_type the engine cannot run
  | 'missing-files' // a required file is absent (local folder or repo)
  | 'quota' // not enough browser storage for the download
  | 'gpu-limits' // the model cannot fit this GPU's limits
  | 'size-mismatch' // bytes received differ from what the server or index announced
  | 'invalid' // a file is malformed (bad JSON, bad weight map)
  | 'server' // the Hub answered with an unexpected status
  | 'cancelled'; // the user cancelled

export class HubError extends Error {
  override name = 'HubError';
  constructor(
    readonly code: HubErrorCode,
    message: string,
    /** For network errors: partial bytes were kept and the next download resumes from them. */
    readonly resumable = false,
  ) {
    super(message);
  }
}

export function isHubError(e: unknown, code?: HubErrorCode): e is HubError {
  return e instanceof HubError && (code === undefined || e.code === code);
}

export function isAbortError(e: unknown): boolean {
  return (e as { name?: string } | null)?.name === 'AbortError';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
