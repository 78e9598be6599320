// Training in the worker: builds a run from a saved dataset and a cached model (tokenize,
// then a TrainingSession: split, batches, weights on the GPU, trainer — the same session the
// CLI drives), runs it, and reports small events. The session's loop owns the cadences,
// pause/resume, stop and device loss; this file gives it callbacks that store metrics,
// checkpoints and samples in IndexedDB as they happen, so a reload or a lost device leaves a
// run that resumes from its last checkpoint.
import type { GpuHolders } from './gpu-busy';
import type { GpuContext } from '../engine/gpu/context';
import { parseModelConfig } from '../engine/model/config';
import { DeviceLostError, type TrainerCheckpoint } from '../train/trainer';
import { TrainingSession, type RunCheckpoint, type SampleEvents, type TrainingData } from '../train/session';
import { exportFileBytes, exportFiles } from '../adapters/export';
import { loadTokenizer, tokenizeExamples, trainingData, type ChatTokenizer } from '../data';
import { openModelWeights, readModelMetadata } from '../hub';
import { newId } from '../persist/db';
import { appendMetrics, getCheckpoint, getDataset, getRun, saveAdapter, saveCheckpoint, saveRun, saveSample, updateRun } from '../persist/repo';
import type { MetricPoint, ModelRef, RunRecord, RunStatus } from '../persist/records';
import { lastLosses, metricPointOf } from '../persist/lifecycle';
import { generateWith, playgroundGenerate, unloadPlayground, type GenerateOutput } from './generation-service';
import { trainingExamples } from './dataset-service';
import { openModel } from './models-service';
import type { GenerateRequest, RunEvent, StartRunRequest } from './run-types';
import { forObjective, validateSettings, withDefaults, type LossMode, type TrainSettings } from './settings';
import { baseModelName } from './presets';
import { buildRunRecord, runRecordFile, type RunRecord as TrainingRecord } from '../train/recipe/run-record';


type DeviceProvider = () => Promise<{ ctx: GpuContext }>;
let getDevice: DeviceProvider | null = null;
/** The worker hands over its device (and a way to forget a lost one). */
export function setDeviceProvider(p: DeviceProvider): void {
  getDevice = p;
}

interface Session {
  run: RunRecord;
  ctx: GpuContext;
  session: TrainingSession;
  tok: ChatTokenizer;
  /** Held-out prompts for sample answers. */
  prompts: string[];
  onEvent: (e: RunEvent) => void;
  /** Stops the run (after the step in flight, or at once while paused). */
  stop: AbortController;
}

let active: Session | null = null;
/** The run being rebuilt from its checkpoint, until it becomes the active one. */
let opening: string | null = null;

/** The run this worker trains, holds paused, or is resuming (its records are in use). */
export function currentRunId(): string | null {
  return active?.run.id ?? opening;
}

function status(s: Session, st: RunStatus, message?: string) {
  s.run = { ...s.run, status: st };
  s.onEvent({ type: 'status', runId: s.run.id, status: st, step: s.session.stepsCompleted, totalSteps: s.run.totalSteps, message });
}

interface Prepared {
  tok: ChatTokenizer;
  cfg: ReturnType<typeof parseModelConfig>;
  files: Awaited<ReturnType<typeof openModel>>;
  /** Examples, or a preference file's pairs (the session checks they fit the objective). */
  examples: TrainingData;
  padId: number;
  /** Which rows of which saved file the run selected (its training record's data). */
  data: TrainingRecord['data'];
}

/** A saved dataset tokenized with a cached model's tokenizer and the run's loss mask. */
async function prepare(datasetId: string, ref: ModelRef, lossMode: LossMode, report: (message: string) => void = () => {}): Promise<Prepared> {
  report('Reading the dataset…');
  const { examples, data } = await trainingExamples(datasetId);
  report('Opening the model…');
  const files = await openModel(ref);
  const meta = await readModelMetadata(files);
  const cfg = parseModelConfig(meta.config);
  const tok = loadTokenizer({ tokenizerJson: meta.tokenizer as object, tokenizerConfig: meta.tokenizerConfig });
  report(`Tokenizing ${examples.length} examples…`);
  const tokenized = await tokenizeExamples(tok, examples, { lossMode });
  const trained = trainingData(tokenized);
  if (trained.length === 0) throw new Error(`No example could be tokenized (${tokenized.errors[0]?.message ?? 'unknown reason'}).`);
  return { tok, cfg, files, examples: trained, padId: tok.padTokenId ?? tok.eosTokenId ?? 0, data };
}

async function build(run: RunRecord, onEvent: (e: RunEvent) => void, prompts: string[]): Promise<Session> {
  if (active) throw new Error(`A run is already training (${active.run.name}). Pause or stop it first.`);
  if (!getDevice) throw new Error('No GPU device provider.');
  const { ctx } = await getDevice();
  unloadPlayground();
  // Settings are complete here: startRun and persist/'s getRun fill in defaults (withDefaults).
  const s = run.settings;
  const report = (message: string) => onEvent({ type: 'status', runId: run.id, status: 'running', step: run.step, totalSteps: run.totalSteps, message });
  const { tok, cfg, files, examples, padId, data } = await prepare(run.datasetId, run.model, s.lossMode, report);

  report('Preparing batches and uploading the weights to the GPU…');
  const store = await openModelWeights(files);
  const session = await TrainingSession.open(ctx, cfg, store, examples, s, { padId, engine: { weightStorage: run.weights ?? 'auto' } });
  // The same record the CLI's `train` writes beside its adapter (kept from the start when resumed).
  const trainingRecord = run.trainingRecord ?? buildRunRecord(session, { data, base: { id: baseModelName(run.model), revision: run.model.revision ?? null } });
  run = { ...run, totalSteps: session.totalSteps, trainingRecord };
  return { run, ctx, session, tok, prompts, onEvent, stop: new AbortController() };
}

// Planning asks on every settings change: the last tokenized dataset is kept (the loss mask,
// not the sequence length, changes tokenization).
let planned: { key: string; prepared: Promise<Prepared> } | null = null;

/** The optimizer steps a run with these settings would take: the session's own plan (split, packing, accumulation). */
export async function planSteps(datasetId: string, ref: ModelRef, settings: TrainSettings): Promise<number> {
  const s = withDefaults(settings);
  const key = JSON.stringify([datasetId, ref.id, ref.source, ref.revision ?? null, s.lossMode]);
  if (planned?.key !== key) planned = { key, prepared: prepare(datasetId, ref, s.lossMode) };
  const p = planned;
  try {
    const { examples, padId } = await p.prepared;
    return TrainingSession.plan(examples, s, { padId }).totalSteps;
  } catch (e) {
    if (planned === p) planned = null; // a failure (model not downloaded yet) is not kept
    throw e;
  }
}

async function storeCheckpoint(s: Session, c: RunCheckpoint): Promise<void> {
  const step = c.trainer.step;
  await saveCheckpoint({ runId: s.run.id, step, createdAt: Date.now(), state: c });
  s.run = { ...s.run, checkpointStep: step, step };
  await updateRun(s.run.id, { checkpointStep: step, step, totalSteps: s.run.totalSteps });
  s.onEvent({ type: 'checkpoint', runId: s.run.id, step });
}

/** A stored checkpoint: a RunCheckpoint, or the bare trainer state older versions stored. */
function asRunCheckpoint(state: unknown, run: RunRecord): RunCheckpoint {
  const c = state as RunCheckpoint | TrainerCheckpoint;
  if ('trainer' in c) return c;
  return { version: 1, trainer: c, position: c.dataPosition as RunCheckpoint['position'], settings: run.settings, elapsedMs: 0 };
}

async function saveTrainedAdapter(s: Session): Promise<string> {
  const adapter = await s.session.exportAdapter(baseModelName(s.run.model), s.run.model.revision ?? null);
  // Stored as the export pipeline's PEFT files, so a later PEFT download is exactly those bytes.
  const peft = await exportFiles('peft', { config: s.session.cfg }, adapter, { name: s.run.name, baseModelId: baseModelName(s.run.model) });
  const files = await Promise.all(peft.map(async (f) => ({ name: f.name, bytes: (await exportFileBytes(f)).slice().buffer as ArrayBuffer })));
  // Beside them the run record, as the CLI writes it: its exports say which objective made it.
  const record = s.run.trainingRecord;
  if (record) {
    const f = runRecordFile(record);
    files.push({ name: f.name, bytes: f.bytes.slice().buffer as ArrayBuffer });
  }
  const id = newId('adapter');
  const st: TrainSettings = s.run.settings;
  await saveAdapter({ id, runId: s.run.id, name: s.run.name, createdAt: Date.now(), baseModel: s.run.model.id, rank: st.rank, alpha: st.alpha, targets: [...st.targets], objective: st.objective, files });
  return id;
}

/** Answers to the held-out prompts with the adapter as trained so far (greedy, short). */
function samples(s: Session): SampleEvents {
  return {
    prompts: s.prompts,
    onSampling: (step) => status(s, 'running', `Answering the sample prompts at step ${step}…`),
    generate: async (prompt) =>
      (await generateWith(s.session.trainer.model, s.session.trainer.lora, s.tok, { messages: [{ role: 'user', content: prompt }], maxNewTokens: 64, temperature: 0, topP: 1, seed: 0, adapterScale: 1 })).text,
    onSample: async (sample) => {
      s.onEvent({ type: 'sample', runId: s.run.id, ...sample });
      await saveSample({ runId: s.run.id, ...sample });
    },
  };
}

function release(s: Session) {
  s.session.destroy();
  if (active === s) active = null;
}

/** Runs the session until done, stopped or failed; pauses wait inside it. */
async function loop(s: Session): Promise<void> {
  const session = s.session;
  const pending: MetricPoint[] = [];
  let lastFlush = 0;
  const flush = async (force = false) => {
    if (!pending.length || (!force && performance.now() - lastFlush < 250)) return;
    const pts = pending.splice(0);
    lastFlush = performance.now();
    // The run keeps its newest losses, so the Runs table shows them without reading every curve.
    const losses = lastLosses(pts);
    s.run = { ...s.run, ...losses };
    s.onEvent({ type: 'metrics', runId: s.run.id, points: pts });
    await appendMetrics(pts);
    await updateRun(s.run.id, losses);
  };
  let lost: DeviceLostError | null = null;
  try {
    // The first step compiles every GPU kernel (tens of seconds on slow adapters): say so until its metrics arrive.
    status(s, 'running', `Compiling the GPU kernels and running step ${session.stepsCompleted + 1}…`);
    await updateRun(s.run.id, { status: 'running', totalSteps: s.run.totalSteps, error: null });
    const result = await session.run({
      signal: s.stop.signal,
      onStep: async (m) => {
        pending.push(metricPointOf(s.run.id, m, Date.now()));
        s.run = { ...s.run, step: m.step };
        await flush(m.valLoss !== undefined);
      },
      onCheckpoint: async (c) => {
        await flush(true); // the stored curve reaches the checkpoint a resumed run continues from
        await storeCheckpoint(s, c);
      },
      onStatus: async (st) => {
        status(s, st);
        await updateRun(s.run.id, { status: st });
      },
      samples: samples(s),
    });
    await flush(true);
    const adapterId = await saveTrainedAdapter(s);
    const final: RunStatus = result.stoppedBy === 'completed' ? 'completed' : 'stopped';
    await updateRun(s.run.id, { status: final, adapterId, step: session.stepsCompleted });
    status(s, final, final === 'completed' ? 'Done: the adapter is saved under Runs & adapters.' : 'Stopped: the adapter trained so far is saved under Runs & adapters.');
  } catch (e) {
    await flush(true).catch(() => undefined);
    if (e instanceof DeviceLostError) {
      lost = e;
      const msg = `The GPU device was lost (${e.detail}). Resume from the last checkpoint (step ${s.run.checkpointStep ?? 0}).`;
      await updateRun(s.run.id, { status: 'interrupted', error: msg });
      s.onEvent({ type: 'device-lost', runId: s.run.id, message: msg });
      forgetDevice?.();
    } else {
      const msg = (e as Error).message ?? String(e);
      await updateRun(s.run.id, { status: 'failed', error: msg });
      status(s, 'failed', msg);
    }
  } finally {
    // A lost device's buffers are gone with it.
    if (!lost) release(s);
    else if (active === s) active = null;
  }
}

let forgetDevice: (() => void) | null = null;
export function setForgetDevice(f: () => void): void {
  forgetDevice = f;
}

/** Starts a new run; resolves with its id once it is set up (training continues in the background). */
export async function startRun(req: StartRunRequest, onEvent: (e: RunEvent) => void): Promise<string> {
  // A setting of another objective (β under ORPO) is not used, so the run stores its default.
  const settings = forObjective(withDefaults(req.settings));
  const problems = Object.values(validateSettings(settings));
  if (problems.length) throw new Error(`These settings cannot run: ${problems.join('; ')}.`);
  const ds = await getDataset(req.datasetId);
  if (!ds) throw new Error('The saved dataset is gone; save it again on the Data screen.');
  const now = Date.now();
  const draft: RunRecord = {
    id: newId('run'), name: req.name, createdAt: now, updatedAt: now, status: 'running', datasetId: req.datasetId, datasetName: ds.name,
    model: req.model, settings, weights: req.weights ?? 'auto', samplePrompts: req.samplePrompts, notes: '', step: 0, totalSteps: 0, checkpointStep: null, adapterId: null, error: null,
  };
  const s = await build(draft, onEvent, req.samplePrompts);
  active = s;
  await saveRun(s.run);
  void loop(s);
  return s.run.id;
}

/** Resumes a paused run in place, or rebuilds an interrupted one from its checkpoint. */
export async function resumeRun(runId: string, onEvent: (e: RunEvent) => void): Promise<void> {
  if (active?.run.id === runId && active.session.paused) {
    active.onEvent = onEvent;
    active.session.resume();
    return;
  }
  const run = await getRun(runId);
  if (!run) throw new Error('That run no longer exists.');
  const ck = await getCheckpoint(runId);
  if (!ck) throw new Error('That run has no checkpoint to resume from.');
  opening = runId;
  let s: Session;
  try {
    s = await build(run, onEvent, run.samplePrompts ?? []);
  } finally {
    opening = null;
  }
  const c = asRunCheckpoint(ck.state, run);
  s.session.restore(c);
  s.run = { ...s.run, step: c.trainer.step, checkpointStep: c.trainer.step };
  active = s;
  // A run stored before runs kept their training record gets it now (same settings, data and base).
  // Best effort: without it the run trains on, and "Export as recipe" says why it is off.
  if (!run.trainingRecord) await updateRun(runId, { trainingRecord: s.run.trainingRecord }).catch(() => undefined);
  void loop(s);
}

export function pauseRun(): boolean {
  return active?.session.pause() ?? false;
}

export function stopRun(): boolean {
  if (!active) return false;
  active.stop.abort();
  return true;
}

/** The run holding the GPU (training, paused, or being rebuilt from its checkpoint), for gpuBusyReason. */
export function trainingHolder(): GpuHolders['training'] {
  if (active) return { name: active.run.name, paused: active.session.paused };
  return opening ? { name: 'the run being resumed', paused: false } : null;
}

/** Playground generation (the worker refuses it while a run trains: gpu-busy.ts). */
export async function generate(req: GenerateRequest, onText: (text: string) => void): Promise<GenerateOutput> {
  if (!getDevice) throw new Error('No GPU device provider.');
  const { ctx } = await getDevice();
  return playgroundGenerate(ctx, req, onText);
}
