// Test helper (not shipped): runs the CLI's main() in-process, capturing stdout lines and stderr.
import { vi } from 'vitest';
import { main } from './main';

export async function runCli(args: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const out: string[] = [];
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  try {
    return { code: await main(args, (l) => out.push(l)), out, err };
  } finally {
    spy.mockRestore();
  }
}
