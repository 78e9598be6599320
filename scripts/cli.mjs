// `npm run cli -- <command>`: builds the CLI only when its inputs changed, then runs it.
//   node scripts/cli.mjs <command> [options]   build if needed, run (stdout = the command's output)
//   node scripts/cli.mjs --build               build if needed, run nothing (npm run build:cli)
// The build's own output goes to stderr. Several launches in one checkout may run at once: the
// build goes to a temporary folder under a lock file and its files are renamed into dist-cli/
// (a rename replaces a file whole), so no launch ever sees a missing or half-written cli.js.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBuiltCli } from '../bin/run-cli.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist-cli');
const STAMP = join(OUT, '.inputs-sha256');
const LOCK = join(OUT, '.build.lock');
/** What the bundle is made of: a change to any of these rebuilds it. */
const INPUTS = ['src', 'shaders', 'vite.cli.config.ts', 'package.json', 'package-lock.json', 'tsconfig.json'];
const LOCK_WAIT_MS = 10 * 60_000;

function inputsHash() {
  const h = createHash('sha256');
  const add = (p) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) add(join(p, name));
    } else {
      const data = readFileSync(p);
      h.update(`${relative(ROOT, p)}\0${data.length}\0`).update(data);
    }
  };
  for (const p of INPUTS) add(join(ROOT, p));
  return h.digest('hex');
}

const readText = (p) => (existsSync(p) ? readFileSync(p, 'utf8') : '');
const isFresh = (hash) => existsSync(join(OUT, 'cli.js')) && readText(STAMP) === hash;

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Takes the build lock, or returns false while another live process holds it. */
function tryLock() {
  try {
    const fd = openSync(LOCK, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (e) {
    if (e.code !== 'EEXIST') throw e;
  }
  // A lock left by a process that died (or one caught between create and write, after 10 s) is stale.
  const pid = Number(readText(LOCK));
  const stale = pid > 0 ? !isAlive(pid) : Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 10_000;
  if (stale) rmSync(LOCK, { force: true });
  return false;
}

function viteBuild(outDir) {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('vite/package.json', { paths: [ROOT] });
  const vite = join(dirname(pkg), JSON.parse(readFileSync(pkg, 'utf8')).bin.vite);
  return new Promise((resolve, reject) => {
    // stdout of the build goes to our stderr: stdout belongs to the command that runs next.
    const child = spawn(process.execPath, [vite, 'build', '--config', 'vite.cli.config.ts', '--outDir', outDir, '--emptyOutDir'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`the CLI build failed (vite exited with ${code})`))));
  });
}

async function ensureBuilt() {
  let hash = inputsHash();
  if (isFresh(hash)) return;
  mkdirSync(OUT, { recursive: true });
  const started = Date.now();
  while (!tryLock()) {
    if (Date.now() - started > LOCK_WAIT_MS) throw new Error(`waited ${LOCK_WAIT_MS / 60_000} min for the CLI build lock ${LOCK}; remove it if no build is running`);
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    hash = inputsHash(); // another launch may have built while we waited, or sources moved on
    if (isFresh(hash)) return;
    process.stderr.write('lora-studio: building the CLI (its sources changed)\n');
    const tmp = join(OUT, `.build-${process.pid}`);
    try {
      await viteBuild(tmp);
      // cli.js last: a launch that sees it also finds its source map; the stamp after both.
      for (const f of readdirSync(tmp).sort((a, b) => Number(a === 'cli.js') - Number(b === 'cli.js'))) renameSync(join(tmp, f), join(OUT, f));
      writeFileSync(`${STAMP}.tmp-${process.pid}`, hash);
      renameSync(`${STAMP}.tmp-${process.pid}`, STAMP);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  } finally {
    rmSync(LOCK, { force: true });
  }
}

const args = process.argv.slice(2);
try {
  await ensureBuilt();
} catch (e) {
  process.stderr.write(`lora-studio: ${e.message}\n`);
  process.exit(1);
}
if (args[0] !== '--build') process.exitCode = await runBuiltCli(args);
