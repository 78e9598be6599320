// The built CLI as users run it (bin/lora-studio.mjs, a child process): output piped to another
// program is complete, stderr carries no Dawn notices, and a run first says which weights it uses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeTinyModel, type TinyModel } from '../../test/fixtures/tiny-model';
import { probeNodeAdapter } from './node-gpu';
import { chooseWeights } from './weights';
import { weightsOnlyFit } from '../engine/model/weights';
import { LINEAR_MODULES } from '../engine/model/config';
import { trainingWeightFit } from '../train/memory-plan';
import { chooseSeqLen } from '../train/seq-len';
import { DEFAULT_ENGINE_OPTIONS } from '../train/session';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
let modelDir: string;
let model: TinyModel;

/** Runs `node <script> args` in the checkout; stdout to a pipe we read, or to `stdoutFd`. */
function node(script: string, args: string[], stdoutFd?: number): Promise<{ code: number | null; bytes: number; out: string; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (d: Buffer) => chunks.push(d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('error', fail);
    child.on('close', (code) => {
      const out = Buffer.concat(chunks);
      done({ code, bytes: out.length, out: out.toString('utf8'), err });
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lora-launch-gpu-'));
  modelDir = join(dir, 'model');
  model = await writeTinyModel(modelDir, { seed: 5 });
  const built = await node('scripts/cli.mjs', ['--build']);
  expect(built.code, built.err).toBe(0);
  expect(built.out).toBe('');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('lora-studio as a process', () => {
  it('logits piped to another program are as long as the same logits written to a file (> 128 KiB)', async () => {
    const V = model.config.vocabSize;
    const ids = Array.from({ length: 60 }, (_, i) => (i * 7) % V);
    const args = ['logits', '--model', modelDir, '--ids', ids.join(',')];
    const piped = await node('bin/lora-studio.mjs', args);
    expect(piped.code, piped.err).toBe(0);
    const file = join(dir, 'logits.json');
    const fh = await open(file, 'w');
    const toFile = await node('bin/lora-studio.mjs', args, fh.fd).finally(() => fh.close());
    expect(toFile.code, toFile.err).toBe(0);
    const written = await readFile(file);
    expect(written.length).toBeGreaterThan(128 * 1024);
    expect(piped.bytes).toBe(written.length);
    expect(JSON.parse(piped.out).logits).toHaveLength(ids.length);

    // stderr: first the weights line of this machine's adapter, and no Dawn notices.
    const probe = await probeNodeAdapter();
    if ('error' in probe) throw new Error(probe.error);
    const want = chooseWeights('auto', probe.f16, model.config.dtype, weightsOnlyFit(model.config, probe.maxBufferSize)).line;
    for (const err of [piped.err, toFile.err]) {
      expect(err.split('\n')[0]).toBe(want);
      expect(err).not.toMatch(/artificially reduced|maxDynamic/);
    }
  });

  it('inspect says what --weights auto picks on this machine and why', async () => {
    const r = await node('bin/lora-studio.mjs', ['inspect', '--model', modelDir, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    const probe = await probeNodeAdapter();
    if ('error' in probe) throw new Error(probe.error);
    // inspect weighs a `train` run at batch 4 × the model's length, r=16 on all linears.
    const mem = { rank: 16, targets: [...LINEAR_MODULES], batchSize: 4, seqLen: chooseSeqLen(undefined, model.config.maxPositionEmbeddings).seqLen };
    const want = chooseWeights('auto', probe.f16, model.config.dtype, trainingWeightFit(model.config, mem, DEFAULT_ENGINE_OPTIONS.recompute, probe));
    expect(JSON.parse(r.out).model.weights).toEqual({ storage: want.storage, reason: want.reason, adapter: probe.name });
    const text = await node('bin/lora-studio.mjs', ['inspect', '--model', modelDir]);
    expect(text.out).toContain(`  ${want.line}\n`);
  });
});
