// `npm run cli` (scripts/cli.mjs) in a fresh copy of the project: launches at the same time share
// one build, stdout holds only the command's output, and an unchanged checkout is not rebuilt.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, realpath, rm, stat, symlink, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const COPIED = ['src', 'shaders', 'scripts', 'bin', 'vite.cli.config.ts', 'package.json', 'package-lock.json', 'tsconfig.json'];
let copy: string;

function launch(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['scripts/cli.mjs', ...args], { cwd: copy, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, out, err }));
  });
}

beforeAll(async () => {
  copy = await mkdtemp(join(tmpdir(), 'lora-launcher-'));
  for (const p of COPIED) await cp(join(ROOT, p), join(copy, p), { recursive: true });
  await symlink(await realpath(join(ROOT, 'node_modules')), join(copy, 'node_modules'));
});

afterAll(() => rm(copy, { recursive: true, force: true }));

describe('npm run cli (scripts/cli.mjs)', () => {
  it('two launches at once in an unbuilt checkout both succeed, build once, and print only the usage on stdout', async () => {
    const [a, b] = await Promise.all([launch(['--help']), launch(['--help'])]);
    expect(a.code, a.err).toBe(0);
    expect(b.code, b.err).toBe(0);
    expect(a.out.startsWith('lora-studio <command> [options]\n')).toBe(true);
    expect(b.out).toBe(a.out);
    expect(a.out).not.toMatch(/vite|built|building/);
    // One of them built (its vite output on stderr); the other waited for the lock and reused it.
    expect((a.err + b.err).match(/building the CLI/g)).toHaveLength(1);
    expect((a.err + b.err)).toMatch(/built in/);
    expect((await readdir(join(copy, 'dist-cli'))).sort()).toEqual(['.inputs-sha256', 'cli.js', 'cli.js.map']);
  }, 300_000);

  it('reuses the build while the sources are unchanged and rebuilds after a change', async () => {
    const cli = join(copy, 'dist-cli/cli.js');
    const before = (await stat(cli)).mtimeMs;
    const again = await launch(['--help']);
    expect(again.code).toBe(0);
    expect(again.err).toBe('');
    expect((await stat(cli)).mtimeMs).toBe(before);

    await appendFile(join(copy, 'src/cli/args.ts'), '\n// changed\n');
    const rebuilt = await launch(['--help']);
    expect(rebuilt.code, rebuilt.err).toBe(0);
    expect(rebuilt.err).toMatch(/building the CLI/);
    expect(rebuilt.out).toBe(again.out);
    expect((await stat(cli)).mtimeMs).not.toBe(before);
    expect((await launch(['--help'])).err).toBe('');
  }, 300_000);
});
