// `train --model DIR --data FILE --out DIR [hyperparameters]`: trains a LoRA adapter on the GPU
// (Dawn) and writes a PEFT adapter folder. Checkpoints go to --out's sibling .checkpoints/ so
// --resume can continue a stopped run exactly.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { LINEAR_MODULES, type LinearModule } from '../../engine/model/config';
import { openModelFiles } from '../../engine/model/model-files';
import { exportPeft } from '../../adapters/peft';
import type { LoraAdapter } from '../../adapters/lora';
import { loadPeftDir } from './export';
import { loadTokenizer, tokenizeExamples, type LossMode } from '../../data';
import { TrainingSession } from '../../train/session';
import { chooseSeqLen } from '../../train/seq-len';
import { DEFAULT_SETTINGS, LOSS_MODES, validateSettings, type Schedule, type TrainSettings } from '../../train/settings';
import { list, num, optStr, str, type Values } from '../args';
import { describeDataset, parseDatasetFile, selectExamples } from '../dataset-file';
import { CliError, directoryModelFiles } from '../model-dir';
import { nodeEngineDevice } from '../node-gpu';
import { checkOutPath, writeDirAtomically } from '../output';
import { ProgressBar } from '../progress';
import { chooseWeights, WEIGHTS_HELP, weightsFlag } from '../weights';
import { decodeCheckpoint, encodeCheckpoint } from '../../train/checkpoint-file';

export const TRAIN_OPTIONS = {
  model: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  rank: { type: 'string' },
  alpha: { type: 'string' },
  dropout: { type: 'string' },
  targets: { type: 'string' },
  rslora: { type: 'boolean' },
  lr: { type: 'string' },
  schedule: { type: 'string' },
  warmup: { type: 'string' },
  epochs: { type: 'string' },
  steps: { type: 'string' },
  batch: { type: 'string' },
  'grad-accum': { type: 'string' },
  'seq-len': { type: 'string' },
  seed: { type: 'string' },
  'val-split': { type: 'string' },
  'eval-every': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  resume: { type: 'boolean' },
  'loss-mode': { type: 'string' },
  'exclude-invalid': { type: 'boolean' },
  'dedupe': { type: 'boolean' },
  'weights': { type: 'string' },
  recompute: { type: 'string' },
  'max-grad-norm': { type: 'string' },
  'weight-decay': { type: 'string' },
  'no-packing': { type: 'boolean' },
  'base-model-id': { type: 'string' },
  adapter: { type: 'string' },
} as const;

export const TRAIN_HELP = `train --model DIR --data FILE --out DIR [options]
  --rank N (${DEFAULT_SETTINGS.rank})  --alpha X (${DEFAULT_SETTINGS.alpha})  --dropout P (${DEFAULT_SETTINGS.dropout})  --rslora
  --targets q_proj,k_proj,... (all seven)  --lr X (${DEFAULT_SETTINGS.learningRate})  --schedule constant|linear|cosine (${DEFAULT_SETTINGS.schedule})
  --warmup N (${DEFAULT_SETTINGS.warmupSteps})  --epochs N (${DEFAULT_SETTINGS.epochs}) | --steps N  --batch N (${DEFAULT_SETTINGS.batchSize})  --grad-accum N (${DEFAULT_SETTINGS.gradAccum})
  --seq-len N (${DEFAULT_SETTINGS.seqLen})  --seed N (${DEFAULT_SETTINGS.seed})  --val-split F (${DEFAULT_SETTINGS.valSplit})  --eval-every N (${DEFAULT_SETTINGS.evalEvery})
  --checkpoint-every N (${DEFAULT_SETTINGS.checkpointEvery})  --resume  --loss-mode all-assistant|last-assistant|all
  --exclude-invalid (train without invalid rows)  --dedupe  --recompute auto|off|selective|full (auto)  --no-packing
  --max-grad-norm X (1)  --weight-decay X (0)  --base-model-id ID  --json (one JSON object per step)  --force
  --adapter DIR  continue training a PEFT adapter (its rank, alpha, targets and rsLoRA are used)
  ${WEIGHTS_HELP}`;

export function lossModeFlag(v: Values, fallback: LossMode): LossMode {
  const m = str(v, 'loss-mode', fallback);
  if (!LOSS_MODES.some((x) => x.id === m)) throw new CliError(`--loss-mode ${m}: expected ${LOSS_MODES.map((x) => x.id).join(', ')}`);
  return m as LossMode;
}

export function settingsFromFlags(v: Values): TrainSettings {
  const d = DEFAULT_SETTINGS;
  const targets = list(v, 'targets', [...d.targets]);
  for (const t of targets) if (!(LINEAR_MODULES as readonly string[]).includes(t)) throw new CliError(`--targets: unknown module ${t} (expected some of ${LINEAR_MODULES.join(',')})`);
  const schedule = str(v, 'schedule', d.schedule);
  if (!['constant', 'linear', 'cosine'].includes(schedule)) throw new CliError(`--schedule ${schedule}: expected constant, linear or cosine`);
  const s: TrainSettings = {
    ...d,
    rank: num(v, 'rank', d.rank, { int: true, min: 1 }),
    alpha: num(v, 'alpha', d.alpha, { min: 0 }),
    dropout: num(v, 'dropout', d.dropout, { min: 0, max: 0.99 }),
    targets: targets as LinearModule[],
    rslora: v.rslora === true,
    learningRate: num(v, 'lr', d.learningRate, { min: 0 }),
    schedule: schedule as Schedule,
    warmupSteps: num(v, 'warmup', d.warmupSteps, { int: true, min: 0 }),
    epochs: num(v, 'epochs', d.epochs, { int: true, min: 1 }),
    maxSteps: num(v, 'steps', 0, { int: true, min: 0 }),
    batchSize: num(v, 'batch', d.batchSize, { int: true, min: 1 }),
    gradAccum: num(v, 'grad-accum', d.gradAccum, { int: true, min: 1 }),
    seqLen: num(v, 'seq-len', d.seqLen, { int: true, min: 8 }),
    seed: num(v, 'seed', d.seed, { int: true, min: 0 }),
    valSplit: num(v, 'val-split', d.valSplit, { min: 0, max: 0.5 }),
    evalEvery: num(v, 'eval-every', d.evalEvery, { int: true, min: 1 }),
    checkpointEvery: num(v, 'checkpoint-every', d.checkpointEvery, { int: true, min: 1 }),
    lossMode: lossModeFlag(v, d.lossMode),
  };
  const problems = Object.entries(validateSettings(s));
  if (problems.length) throw new CliError(`invalid settings: ${problems.map(([k, m]) => `${k} must be ${m}`).join('; ')}`);
  return s;
}

const RECOMPUTE: Record<string, boolean | 'selective' | 'auto'> = { auto: 'auto', off: false, selective: 'selective', full: true };

function recomputeFlag(v: Values): boolean | 'selective' | 'auto' {
  const r = str(v, 'recompute', 'auto');
  if (!(r in RECOMPUTE)) throw new CliError(`--recompute ${r}: expected ${Object.keys(RECOMPUTE).join(', ')}`);
  return RECOMPUTE[r];
}

/** Training on from an adapter uses its LoRA shape; an explicit flag that contradicts it is an error. */
function adoptAdapterShape(s: TrainSettings, c: LoraAdapter['config'], v: Values): void {
  const clash = (flag: string, mine: unknown, theirs: unknown) => {
    if (v[flag] !== undefined && JSON.stringify(mine) !== JSON.stringify(theirs)) throw new CliError(`--${flag} ${String(v[flag])} contradicts the adapter (${flag} ${JSON.stringify(theirs)}); leave it out to continue the adapter`);
  };
  clash('rank', s.rank, c.r);
  clash('alpha', s.alpha, c.alpha);
  clash('targets', [...s.targets].sort(), [...c.targetModules].sort());
  clash('rslora', s.rslora, c.useRslora);
  s.rank = c.r;
  s.alpha = c.alpha;
  s.targets = [...c.targetModules];
  s.rslora = c.useRslora;
}

/** Where --resume finds the checkpoint of a run writing to `outDir`. */
export const checkpointPath = (outDir: string) => join(dirname(resolve(outDir)), `.${basename(outDir)}.checkpoint`);

export async function trainCommand(v: Values, out: (l: string) => void): Promise<void> {
  const modelDir = str(v, 'model');
  const dataFile = str(v, 'data');
  const outDir = str(v, 'out');
  const json = v.json === true;
  const settings = settingsFromFlags(v);
  const weights = weightsFlag(v);
  checkOutPath(outDir, v.force === true);
  const ckptFile = checkpointPath(outDir);
  if (v.resume === true && !existsSync(ckptFile)) throw new CliError(`--resume: no checkpoint at ${ckptFile}`);

  const log = (l: string) => (json ? process.stderr.write(l + '\n') : out(l));
  const files = directoryModelFiles(modelDir);
  try {
    const model = await openModelFiles(files);
    // --seq-len defaults to what the model takes; a longer one is refused before any work starts.
    const seq = chooseSeqLen(v['seq-len'] === undefined ? undefined : settings.seqLen, model.config.maxPositionEmbeddings);
    if (seq.error) throw new CliError(`--seq-len ${settings.seqLen}: ${seq.error}`);
    settings.seqLen = seq.seqLen;
    const parsed = await parseDatasetFile(dataFile);
    if (!json) describeDataset(dataFile, parsed, out);
    const examples = selectExamples(dataFile, parsed, { excludeInvalid: v['exclude-invalid'] === true, removeDuplicates: v.dedupe === true, purpose: 'train' });
    const initAdapter = optStr(v, 'adapter') ? await loadPeftDir(optStr(v, 'adapter')!, model) : null;
    if (initAdapter) adoptAdapterShape(settings, initAdapter.config, v);
    const tok = loadTokenizer({ tokenizerJson: model.tokenizerJson, tokenizerConfig: model.tokenizerConfig });
    const tokenized = await tokenizeExamples(tok, examples, { lossMode: settings.lossMode });
    if (tokenized.errors.length) throw new CliError(`--data ${dataFile}: ${tokenized.errors[0].message}${tokenized.errors.length > 1 ? ` (and ${tokenized.errors.length - 1} more)` : ''}`);

    const { ctx, adapter } = await nodeEngineDevice();
    const storage = chooseWeights(weights, ctx.caps.f16, model.config.dtype);
    log(storage.line);
    log(`device: ${adapter.name}${ctx.caps.f16 ? ' (f16)' : ''}`);
    const session = await TrainingSession.open(ctx, model.config, model.weights, tokenized.examples, settings, {
      engine: {
        weightStorage: storage.storage,
        recompute: recomputeFlag(v),
        packing: v['no-packing'] !== true,
        maxGradNorm: num(v, 'max-grad-norm', 1, { min: 0 }),
        weightDecay: num(v, 'weight-decay', 0, { min: 0 }),
      },
    });
    try {
      if (v.resume === true) {
        const cp = await decodeCheckpoint(new Uint8Array(await readFile(ckptFile)));
        session.restore(cp);
        log(`resumed at step ${session.stepsCompleted} of ${session.totalSteps}`);
      } else if (initAdapter) {
        session.trainer.loadAdapter(initAdapter);
        log(`continuing from the adapter in ${optStr(v, 'adapter')}`);
      }
      log(`training ${session.trainRows} rows (${session.valRows} validation) for ${session.totalSteps} steps`);
      const bar = json ? null : new ProgressBar(process.stderr);
      let lastVal: number | undefined;
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const result = await session
        .run({
          signal: controller.signal,
          onStep: (m) => {
            if (json) out(JSON.stringify({ step: m.step, loss: m.loss, lr: m.lr, grad_norm: m.gradNorm, tokens_per_s: Math.round(m.tokensPerSec), epoch: m.epoch, total_steps: m.totalSteps, eta_s: Math.round(m.etaMs / 1000) }));
            else bar!.update({ step: m.step, total: m.totalSteps, loss: m.loss, tokensPerSec: m.tokensPerSec, valLoss: lastVal });
          },
          onEval: (m) => {
            lastVal = m.valLoss;
            if (json) out(JSON.stringify({ step: m.step, val_loss: m.valLoss }));
          },
          onCheckpoint: async (c) => {
            // Written whole to a temporary name first, so a crash never leaves a torn checkpoint.
            await mkdir(dirname(ckptFile), { recursive: true });
            await writeFile(`${ckptFile}.tmp`, encodeCheckpoint(c));
            await rename(`${ckptFile}.tmp`, ckptFile);
          },
        })
        .finally(() => process.off('SIGINT', onSigint));
      bar?.done();
      if (result.stoppedBy === 'cancelled') {
        log(`stopped at step ${result.step}; continue with --resume`);
        return;
      }
      const trained = await session.exportAdapter(optStr(v, 'base-model-id') ?? modelDir);
      await writeDirAtomically(outDir, async (dir) => {
        for (const [name, data] of Object.entries(exportPeft(trained, model.config))) await writeFile(join(dir, name), data);
      });
      log(`wrote PEFT adapter to ${outDir}${result.finalValLoss !== null ? ` (validation loss ${result.finalValLoss.toFixed(4)})` : ''}`);
    } finally {
      session.destroy();
      ctx.device.destroy();
    }
  } finally {
    await files.close();
  }
}
