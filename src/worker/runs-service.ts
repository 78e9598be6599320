// Edits of stored runs and adapters that the Runs screen asks for, and a run's recipe export. They
// run here because the worker is the database's only reader and writer of runs, and the only one
// that knows which run is training.
import { deleteAdapter as deleteStoredAdapter, deleteRun as deleteStoredRun, getRun, updateRun } from '../persist/repo';
import { deleteRunRefusal, recipeRefusal, safeFileName } from '../persist/lifecycle';
import type { RecipeTarget } from '../train/recipe/mapping';
import { recipeFiles } from '../train/recipe/recipe';
import { recordedExamples, storedRunRecord } from '../train/recipe/run-record';
import { savedDatasetFile } from './dataset-service';
import { currentRunId } from './training-service';
import { textBytes, zipFiles } from './zip';

export async function setRunNotes(runId: string, notes: string): Promise<void> {
  if (!(await updateRun(runId, { notes }))) throw new Error('That run no longer exists.');
}

/** Deletes a run with its curves, samples and checkpoint; refused for the run in use. */
export async function deleteRun(runId: string): Promise<void> {
  const refusal = deleteRunRefusal(runId, currentRunId());
  if (refusal) throw new Error(refusal);
  await deleteStoredRun(runId);
}

export async function deleteAdapter(adapterId: string): Promise<void> {
  await deleteStoredAdapter(adapterId);
}

/**
 * A completed run as an Axolotl or TRL recipe for `gpus` GPUs, zipped: the folder the CLI's
 * `export --format axolotl|trl` writes, from the run's training record and its saved dataset
 * (the same rows, selected by the same function as the CLI's).
 */
export async function exportRecipe(runId: string, target: RecipeTarget, gpus: number): Promise<{ fileName: string; bytes: Uint8Array }> {
  const run = await getRun(runId);
  if (!run) throw new Error('That run no longer exists.');
  const refusal = recipeRefusal(run);
  if (refusal) throw new Error(refusal);
  // Read as the CLI reads its file: a record stored by an older version (kept when the run was
  // resumed) gets the settings it predates; one that cannot describe a run is refused.
  const record = storedRunRecord(run.trainingRecord, 'the run’s training record');
  const file = await savedDatasetFile(run.datasetId).catch(() => {
    throw new Error(`The run's dataset (${run.datasetName}) is no longer saved; a recipe needs the rows it trained on.`);
  });
  const examples = await recordedExamples(record, file).catch((e: Error) => {
    throw new Error(`The saved dataset ${file.name}: ${e.message}.`, { cause: e });
  });
  const folder = `${safeFileName(run.name, 'run')}-${target}`;
  const files = recipeFiles(target, record, examples, { gpus });
  return { fileName: `${folder}.zip`, bytes: zipFiles(files.map((f) => ({ name: f.name, bytes: textBytes(f.text) })), folder) };
}
