// Edits of stored runs and adapters that the Runs screen asks for. They run here because the
// worker is the database's only writer, and the only one that knows which run is training.
import { deleteAdapter as deleteStoredAdapter, deleteRun as deleteStoredRun, updateRun } from '../persist/repo';
import { deleteRunRefusal } from '../persist/lifecycle';
import { currentRunId } from './training-service';

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
