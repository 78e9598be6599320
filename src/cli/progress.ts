// A one-line progress bar for a TTY, plain lines otherwise.
export interface ProgressInfo {
  step: number;
  total: number;
  loss: number;
  tokensPerSec: number;
  valLoss?: number;
  /** Preference runs: rewards/accuracies of the step's pairs and of the held-out pairs. */
  accuracy?: number;
  valAccuracy?: number;
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(ss).padStart(2, '0')}` : `${m}:${String(ss).padStart(2, '0')}`;
}

export class ProgressBar {
  private readonly started = Date.now();
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly width = 24,
  ) {}

  update(p: ProgressInfo): void {
    const frac = p.total > 0 ? Math.min(1, p.step / p.total) : 0;
    const filled = Math.round(frac * this.width);
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = p.step > 0 ? (elapsed / p.step) * (p.total - p.step) : NaN;
    const line =
      `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${p.step}/${p.total} ` +
      `loss ${p.loss.toFixed(4)}${p.valLoss !== undefined ? ` val ${p.valLoss.toFixed(4)}` : ''} ` +
      (p.accuracy !== undefined ? `acc ${p.accuracy.toFixed(2)}${p.valAccuracy !== undefined ? ` val acc ${p.valAccuracy.toFixed(2)}` : ''} ` : '') +
      `${p.tokensPerSec.toFixed(0)} tok/s ETA ${formatEta(eta)}`;
    if (this.stream.isTTY) this.stream.write(`\r${line}\x1b[K`);
    else this.stream.write(`${line}\n`);
  }

  done(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}
