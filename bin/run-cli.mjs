// Runs the built CLI (dist-cli/cli.js) in a child Node process whose stderr passes through
// dawnNoticeFilter; stdin and stdout are the launcher's own, so piped output is untouched.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dawnNoticeFilter } from './dawn-notices.mjs';

const BUILT_CLI = fileURLToPath(new URL('../dist-cli/cli.js', import.meta.url));

/** Runs the CLI with `args`; resolves to the exit code to use. */
export function runBuiltCli(args) {
  if (!existsSync(BUILT_CLI)) {
    process.stderr.write('lora-studio: the CLI is not built yet; run `npm run build:cli` in the project folder.\n');
    return Promise.resolve(1);
  }
  const child = spawn(process.execPath, [BUILT_CLI, ...args], {
    stdio: ['inherit', 'inherit', 'pipe'],
    // The child's stderr is a pipe; tell it whether the real one is a terminal (progress bar).
    env: { ...process.env, LORA_STUDIO_STDERR_TTY: process.stderr.isTTY ? '1' : '0' },
  });
  const filter = dawnNoticeFilter();
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => {
    const pass = filter.push(s);
    if (pass) process.stderr.write(pass);
  });
  // Ctrl-C reaches the child directly (same process group; `train` stops cleanly on it), so the
  // launcher only stays alive to relay the rest; other termination signals are passed on.
  const relay = (sig) => () => {
    if (sig !== 'SIGINT') child.kill(sig);
  };
  const handlers = ['SIGINT', 'SIGTERM', 'SIGHUP'].map((sig) => [sig, relay(sig)]);
  for (const [sig, h] of handlers) process.on(sig, h);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const [sig, h] of handlers) process.off(sig, h);
      const rest = filter.end();
      if (rest) process.stderr.write(rest);
      resolve(code ?? 128 + (constants.signals[signal] ?? 0));
    });
  });
}
