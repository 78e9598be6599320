// Small display formatters shared by the screens.
const KiB = 1024;
const MiB = KiB * 1024;
const GiB = MiB * 1024;

export function formatBytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= KiB) return `${(n / KiB).toFixed(0)} KiB`;
  return `${n} B`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** A saved dataset's size in the words of what it holds: "1 example", "40 preference pairs". */
export function formatExampleCount(n: number, pairs: boolean | undefined): string {
  const noun = pairs ? 'preference pair' : 'example';
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function formatDate(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Counts per bucket for a histogram: `bins` equal-width buckets from 0 to max. */
export function histogram(values: readonly number[], bins: number): { edges: number[]; counts: number[] } {
  const max = values.reduce((m, v) => Math.max(m, v), 0);
  const width = Math.max(1, Math.ceil((max + 1) / bins));
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor(v / width))]++;
  return { edges: Array.from({ length: bins + 1 }, (_, i) => i * width), counts };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Saves bytes as a file download. */
/** Offers a Blob (e.g. assembled from streamed parts) as a download. */
export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  // Large blobs: give the browser time to start reading before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 120_000);
}

export function download(bytes: Uint8Array, fileName: string, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
