// Download progress: bytes, speed over a sliding window, and time left.

export type DownloadPhase = 'metadata' | 'downloading' | 'verifying' | 'done';

export interface DownloadProgress {
  repo: string;
  phase: DownloadPhase;
  /** The file being transferred, when there is one. */
  file: string | null;
  /** Bytes present so far (including bytes resumed from an earlier attempt). */
  bytesDone: number;
  /** Total bytes of the model, once known (0 before). */
  bytesTotal: number;
  /** Bytes that were already in the cache from an interrupted download. */
  bytesResumed: number;
  /** Transfer speed over the last few seconds; 0 until measured. */
  bytesPerSecond: number;
  /** Seconds left at the current speed; null while unknown. */
  etaSeconds: number | null;
}

/** Measures transfer speed over a sliding window of samples (window in milliseconds). */
export class SpeedMeter {
  private samples: { t: number; bytes: number }[] = [];
  private total = 0;

  constructor(
    private readonly windowMs = 5000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records that `bytes` more arrived now. */
  add(bytes: number): void {
    this.total += bytes;
    const t = this.now();
    this.samples.push({ t, bytes: this.total });
    while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window; 0 with fewer than two samples or no elapsed time. */
  bytesPerSecond(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? (last.bytes - first.bytes) / dt : 0;
  }

  /** Seconds until `remaining` bytes arrive at the measured speed, or null while unknown. */
  eta(remaining: number): number | null {
    if (remaining <= 0) return 0;
    const s = this.bytesPerSecond();
    return s > 0 ? remaining / s : null;
  }
}

/** Calls `fn` at most every `intervalMs`, always letting a forced call through. */
export function throttle<T>(fn: (v: T) => void, intervalMs: number, now: () => number = () => performance.now()): (v: T, force?: boolean) => void {
  let last = -Infinity;
  return (v, force = false) => {
    const t = now();
    if (force || t - last >= intervalMs) {
      last = t;
      fn(v);
    }
  };
}
