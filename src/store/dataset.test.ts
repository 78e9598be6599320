import { beforeEach, describe, expect, it, vi } from 'vitest';

// The worker is a stand-in: what is tested is how the store learns what an older saved dataset holds.
const worker = vi.hoisted(() => ({ savedDatasetKind: vi.fn(async (_id: string): Promise<{ examples: number; pairs: boolean }> => ({ examples: 0, pairs: false })) }));
vi.mock('../worker/client', () => ({
  trainer: () => worker,
  callback: (f: unknown) => f,
  transfer: (x: unknown) => x,
  errorMessage: (e: unknown) => (e instanceof Error ? e.message : String(e)),
}));

const { useDataset } = await import('./dataset');

describe('a dataset saved before the studio recorded whether it holds pairs', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    useDataset.setState({ saved: null, savedKindError: null });
  });

  it('learns it from the stored file, once', async () => {
    worker.savedDatasetKind.mockResolvedValueOnce({ examples: 24, pairs: true });
    useDataset.setState({ saved: { id: 'old', name: 'pairs.jsonl', examples: 24 } });
    await useDataset.getState().learnSavedKind();
    expect(worker.savedDatasetKind).toHaveBeenCalledWith('old');
    expect(useDataset.getState().saved).toEqual({ id: 'old', name: 'pairs.jsonl', examples: 24, pairs: true });
    await useDataset.getState().learnSavedKind();
    expect(worker.savedDatasetKind).toHaveBeenCalledTimes(1);
  });

  it('asks nothing for a dataset that says it', async () => {
    useDataset.setState({ saved: { id: 'new', name: 'chat.jsonl', examples: 5, pairs: false } });
    await useDataset.getState().learnSavedKind();
    expect(worker.savedDatasetKind).not.toHaveBeenCalled();
  });

  it('when the file cannot tell, asks for the dataset to be saved again rather than guessing', async () => {
    worker.savedDatasetKind.mockRejectedValueOnce(new Error('Saved dataset old is gone.'));
    useDataset.setState({ saved: { id: 'old', name: 'pairs.jsonl', examples: 24 } });
    await useDataset.getState().learnSavedKind();
    expect(useDataset.getState().saved?.pairs).toBeUndefined();
    expect(useDataset.getState().savedKindError).toBe('Could not tell whether “pairs.jsonl” holds preference pairs (Saved dataset old is gone.): re-save this dataset on the Data screen to use it for preference tuning.');
  });

  it('keeps a dataset saved meanwhile', async () => {
    let answer!: (v: { examples: number; pairs: boolean }) => void;
    worker.savedDatasetKind.mockReturnValueOnce(new Promise((r) => (answer = r)));
    useDataset.setState({ saved: { id: 'old', name: 'pairs.jsonl', examples: 24 } });
    const asking = useDataset.getState().learnSavedKind();
    useDataset.setState({ saved: { id: 'new', name: 'chat.jsonl', examples: 5, pairs: false } });
    answer({ examples: 24, pairs: true });
    await asking;
    expect(useDataset.getState().saved).toEqual({ id: 'new', name: 'chat.jsonl', examples: 5, pairs: false });
  });
});
