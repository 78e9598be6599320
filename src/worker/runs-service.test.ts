import { beforeEach, describe, expect, it, vi } from 'vitest';

// The database and the training session are stand-ins: what is tested is the service's decision.
const repo = vi.hoisted(() => ({ deleteRun: vi.fn(async () => undefined), deleteAdapter: vi.fn(async () => undefined), updateRun: vi.fn(async () => ({ id: 'r1' }) as unknown) }));
const training = vi.hoisted(() => ({ currentRunId: vi.fn((): string | null => null) }));
vi.mock('../persist/repo', () => repo);
vi.mock('./training-service', () => training);

const runs = await import('./runs-service');

describe('runs service (the worker, single writer of runs)', () => {
  beforeEach(() => vi.clearAllMocks());

  it('refuses to delete the run in use and leaves its records alone', async () => {
    training.currentRunId.mockReturnValue('run-busy');
    await expect(runs.deleteRun('run-busy')).rejects.toThrow(/in use.*Stop it on the Train screen/);
    expect(repo.deleteRun).not.toHaveBeenCalled();
  });

  it('deletes any other run, also while one trains', async () => {
    training.currentRunId.mockReturnValue('run-busy');
    await runs.deleteRun('run-old');
    training.currentRunId.mockReturnValue(null);
    await runs.deleteRun('run-busy');
    expect(repo.deleteRun.mock.calls).toEqual([['run-old'], ['run-busy']]);
  });

  it('stores notes, and says so when the run is gone', async () => {
    await runs.setRunNotes('r1', 'lr too high');
    expect(repo.updateRun).toHaveBeenCalledWith('r1', { notes: 'lr too high' });
    repo.updateRun.mockResolvedValueOnce(undefined);
    await expect(runs.setRunNotes('gone', 'x')).rejects.toThrow('no longer exists');
  });
});
