// Adapter files into one zip (fflate), e.g. the PEFT pair plus a README, for download.
import { zipSync, unzipSync, strToU8 } from 'fflate';

export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

export function zipFiles(files: readonly NamedBytes[], folder: string): Uint8Array {
  const tree: Record<string, Uint8Array> = {};
  for (const f of files) tree[`${folder}/${f.name}`] = f.bytes;
  // Weights barely compress; level 1 keeps zipping quick.
  return zipSync(tree, { level: 1 });
}

/** Files of a zip, folders flattened (a PEFT adapter zipped inside a folder still imports). */
export function unzipFiles(zip: Uint8Array): NamedBytes[] {
  const out: NamedBytes[] = [];
  for (const [path, bytes] of Object.entries(unzipSync(zip))) {
    if (path.endsWith('/')) continue;
    out.push({ name: path.split('/').pop()!, bytes });
  }
  return out;
}

export const textBytes = (s: string) => strToU8(s);
