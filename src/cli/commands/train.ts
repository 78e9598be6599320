// `train --model DIR --data FILE --out DIR [hyperparameters]`: trains a LoRA adapter on the GPU
// (Dawn) and writes a PEFT adapter folder. Checkpoints (on the cadence and at Ctrl-C) go to
// --out's sibling .<name>.checkpoint so --resume can continue a stopped run exactly.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ggufBaseLabel } from '../../engine/model/model-files';
import { exportPeft } from '../../adapters/peft';
import type { LoraAdapter } from '../../adapters/lora';
import { loadPeftDir } from './export';
import { loadTokenizer, tokenizeExamples, trainingData } from '../../data';
import { checkTrainingData, TrainingSession } from '../../train/session';
import { chooseSeqLen } from '../../train/seq-len';
import { DEFAULT_SETTINGS, SETTING_KEYS, inapplicableReason, isValidSetting, requirement, settingSpec, type LossMode, type SettingKey, type SettingSpec, type TrainSettings } from '../../train/settings';
import { list, num, optStr, str, type Values } from '../args';
import { describeDataset, parseDatasetFile, selectExamples } from '../dataset-file';
import { CliError, MODEL_HELP, MODEL_OPTIONS, openCliModel, modelArgs } from '../model-dir';
import { nodeEngineDevice } from '../node-gpu';
import { checkOutPath, writeDirAtomically } from '../output';
import { ProgressBar } from '../progress';
import { chooseWeights, WEIGHTS_HELP, weightsFlag } from '../weights';
import { keptTensors } from '../../engine/model/weights';
import { trainingWeightFit } from '../../train/memory-plan';
import { decodeCheckpoint, encodeCheckpoint } from '../../train/checkpoint-file';
import { buildRunRecord, runRecordFile } from '../../train/recipe/run-record';
import { fileSha256 } from '../dataset-file';

/** One parseArgs option per training setting that has a flag (SETTINGS declares them). */
const SETTING_OPTIONS = Object.fromEntries(
  SETTING_KEYS.flatMap((k) => {
    const spec = settingSpec(k);
    return spec.flag ? [[spec.flag, { type: spec.kind === 'boolean' ? ('boolean' as const) : ('string' as const) }]] : [];
  }),
) as Record<string, { type: 'string' | 'boolean' }>;

export const TRAIN_OPTIONS = {
  ...MODEL_OPTIONS,
  data: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  resume: { type: 'boolean' },
  'exclude-invalid': { type: 'boolean' },
  'dedupe': { type: 'boolean' },
  'weights': { type: 'string' },
  recompute: { type: 'string' },
  'max-grad-norm': { type: 'string' },
  'weight-decay': { type: 'string' },
  'no-packing': { type: 'boolean' },
  'base-model-id': { type: 'string' },
  'base-model-revision': { type: 'string' },
  adapter: { type: 'string' },
  ...SETTING_OPTIONS,
} as const;

/** `--rank N`, `--schedule constant|linear|cosine`, `--rslora`: a setting's flag with its value's shape. */
function flagUsage(spec: SettingSpec & { flag: string }): string {
  switch (spec.kind) {
    case 'number':
      return `--${spec.flag} ${spec.int ? 'N' : 'X'}`;
    case 'boolean':
      return `--${spec.flag}`;
    case 'choice':
      return `--${spec.flag} ${spec.choices.map((c) => c.id).join('|')}`;
    case 'list':
      return `--${spec.flag} ${spec.item.toUpperCase()},...`;
  }
}

/** A setting's default and its range (a choice's values are in its usage). */
function helpNote(spec: SettingSpec): string {
  switch (spec.kind) {
    case 'number':
      return `${spec.default}; ${requirement(spec)}`;
    case 'boolean':
      return 'off';
    case 'choice':
      return spec.default;
    case 'list':
      return `${spec.default.length === spec.choices.length ? 'all' : spec.default.join(',')}; some of ${spec.choices.join(',')}`;
  }
}

const FLAGGED = SETTING_KEYS.map((k) => settingSpec(k)).filter((spec): spec is SettingSpec & { flag: string } => spec.flag !== null);
const SETTINGS_HELP = FLAGGED.map((spec) => `  ${flagUsage(spec)}  ${spec.explain} (${helpNote(spec)})`).join('\n');

export const TRAIN_HELP = `train --model DIR|FILE.gguf --data FILE --out DIR [options]
training settings (default; range):
${SETTINGS_HELP}
other options:
  --resume (continue a stopped run exactly from its checkpoint)
  --exclude-invalid (train without invalid rows)  --dedupe  --recompute auto|off|selective|full (auto)  --no-packing
  --max-grad-norm X (1)  --weight-decay X (0)  --base-model-id ID  --base-model-revision REV  --json (one JSON object per step)  --force
  --adapter DIR  continue training a PEFT adapter (its rank, alpha, targets and rsLoRA are used)
  ${MODEL_HELP}
  --base-model-id: the full-precision model the adapter is written for (PEFT base_model_name_or_path); default the model folder or Hub repo, or over a .gguf the original model (its tokenizer folder or Hub repo)
  ${WEIGHTS_HELP}`;

/** The value of one setting's flag, checked against its declaration; the flag's default when absent. */
function settingFlag<K extends SettingKey>(v: Values, key: K, fallback: TrainSettings[K]): TrainSettings[K] {
  const spec = settingSpec(key);
  if (!spec.flag) throw new Error(`setting ${key} has no CLI flag`);
  const flag = spec.flag;
  const x = v[flag];
  if (x === undefined) return fallback;
  const bad = (got: string) => new CliError(`--${flag} ${got}: must be ${requirement(spec)}`);
  let value: unknown;
  switch (spec.kind) {
    case 'boolean':
      value = x === true;
      break;
    case 'number': {
      const n = Number(x);
      if (typeof x !== 'string' || x.trim() === '' || !Number.isFinite(n)) throw new CliError(`--${flag}: expected a number, got ${JSON.stringify(x)}`);
      value = n;
      if (!isValidSetting(spec, n)) throw bad(x);
      break;
    }
    case 'choice': {
      const c = str(v, flag);
      if (!isValidSetting(spec, c)) throw new CliError(`--${flag} ${c}: expected ${spec.choices.map((m) => m.id).join(', ')}`);
      value = c;
      break;
    }
    case 'list': {
      const items = list(v, flag, []);
      for (const t of items) if (!spec.choices.includes(t)) throw new CliError(`--${flag}: unknown ${spec.item} ${t} (expected some of ${spec.choices.join(',')})`);
      if (!isValidSetting(spec, items)) throw bad(items.join(','));
      value = items;
      break;
    }
  }
  return value as TrainSettings[K];
}

/** `--loss-mode` (also read by `eval`, whose default may differ from training's). */
export function lossModeFlag(v: Values, fallback: LossMode): LossMode {
  return settingFlag(v, 'lossMode', fallback);
}

/** Every training setting from its flag (SETTINGS names them), defaults for the rest. */
export function settingsFromFlags(v: Values): TrainSettings {
  const s = { ...DEFAULT_SETTINGS, targets: [...DEFAULT_SETTINGS.targets] };
  const put = <K extends SettingKey>(k: K) => {
    s[k] = settingFlag(v, k, s[k]);
  };
  for (const k of SETTING_KEYS) if (settingSpec(k).flag) put(k);
  // A flag of another objective would silently do nothing (TRL's ORPO even calls λ "beta").
  for (const k of SETTING_KEYS) {
    const flag = settingSpec(k).flag;
    const why = inapplicableReason(k, s.objective);
    if (flag && v[flag] !== undefined && why) throw new CliError(`--${flag} ${why}: leave it out, or add ${settingSpec(k).onlyFor!.map((o) => `--objective ${o}`).join(' or ')}`);
  }
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
  const files = await openCliModel(modelDir, modelArgs(v));
  // The id the adapter is written for: the folder or Hub repo; over a GGUF base the original model, never the .gguf itself.
  const baseId = optStr(v, 'base-model-id') ?? files.baseId;
  try {
    const model = files.opened;
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
    const data = trainingData(tokenized);
    try {
      checkTrainingData(data, settings);
    } catch (e) {
      throw new CliError(`--data ${dataFile}: ${(e as Error).message}`);
    }

    const { ctx, adapter } = await nodeEngineDevice();
    const recompute = recomputeFlag(v);
    const storage = chooseWeights(weights, ctx.caps.f16, model.config.dtype, trainingWeightFit(model.config, settings, recompute, ctx.caps, undefined, keptTensors(model.weights)), model.gguf);
    log(storage.line);
    log(`device: ${adapter.name}${ctx.caps.f16 ? ' (f16)' : ''}`);
    const engine = {
      weightStorage: storage.storage,
      recompute,
      packing: v['no-packing'] !== true,
      maxGradNorm: num(v, 'max-grad-norm', 1, { min: 0 }),
      weightDecay: num(v, 'weight-decay', 0, { min: 0 }),
    };
    const session = await TrainingSession.open(ctx, model.config, model.weights, data, settings, { engine });
    try {
      // What `export --format axolotl|trl` needs to write the same run for another trainer.
      const record = buildRunRecord(session, {
        data: { file: basename(dataFile), sha256: await fileSha256(dataFile), excludeInvalid: v['exclude-invalid'] === true, dedupe: v.dedupe === true, examples: examples.length },
        base: { id: baseId, revision: optStr(v, 'base-model-revision') ?? null },
      });
      if (v.resume === true) {
        const cp = await decodeCheckpoint(new Uint8Array(await readFile(ckptFile)));
        session.restore(cp);
        log(`resumed at step ${session.stepsCompleted} of ${session.totalSteps}`);
      } else if (initAdapter) {
        session.loadAdapter(initAdapter); // DPO's reference is then this adapter
        log(`continuing from the adapter in ${optStr(v, 'adapter')}`);
      }
      log(`training ${session.trainRows} rows (${session.valRows} validation) for ${session.totalSteps} steps`);
      const bar = json ? null : new ProgressBar(process.stderr);
      let lastVal: number | undefined;
      let lastValAcc: number | undefined;
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const result = await session
        .run({
          signal: controller.signal,
          onStep: (m) => {
            if (m.valLoss !== undefined) lastVal = m.valLoss;
            if (m.valPreference) lastValAcc = m.valPreference['rewards/accuracies'];
            if (json) {
              // Preference metrics under TRL's names (held-out ones prefixed eval_, as TRL logs them).
              out(JSON.stringify({ step: m.step, loss: m.loss, ...m.preference, lr: m.lr, grad_norm: m.gradNorm, tokens_per_s: Math.round(m.tokensPerSec), epoch: m.epoch, total_steps: m.totalSteps, eta_s: Math.round(m.etaMs / 1000) }));
              const evalPref = Object.fromEntries(Object.entries(m.valPreference ?? {}).map(([k, x]) => [`eval_${k}`, x]));
              if (m.valLoss !== undefined) out(JSON.stringify({ step: m.step, val_loss: m.valLoss, ...evalPref }));
            } else {
              const accuracy = m.preference?.['rewards/accuracies'];
              bar!.update({ step: m.step, total: m.totalSteps, loss: m.loss, tokensPerSec: m.tokensPerSec, valLoss: lastVal, ...(accuracy !== undefined ? { accuracy, valAccuracy: lastValAcc } : {}) });
            }
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
        // The session checkpointed the step it stopped at.
        log(`stopped at step ${result.step}; continue with --resume`);
        return;
      }
      const trained = await session.exportAdapter(baseId);
      if (model.gguf?.quantized) trained.config.trainedOn = ggufBaseLabel(model.gguf);
      await writeDirAtomically(outDir, async (dir) => {
        for (const [name, data] of Object.entries(exportPeft(trained, model.config))) await writeFile(join(dir, name), data);
        const sidecar = runRecordFile(record);
        await writeFile(join(dir, sidecar.name), sidecar.bytes);
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
