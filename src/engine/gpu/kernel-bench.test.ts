// The benchmark's timing: runs sampled in turns (so a load spike on a shared machine hits
// every weight format of a row alike), warmup rounds untimed, medians per run. A fake clock
// stands in for the GPU: each run advances it by its own cost.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { timeInTurns } from './kernel-bench';

function fakeDevice(): GPUDevice {
  return { queue: { onSubmittedWorkDone: () => Promise.resolve() } } as unknown as GPUDevice;
}

describe('timeInTurns', () => {
  afterEach(() => vi.restoreAllMocks());

  it('samples the runs in turns and returns each one’s median, warmup excluded', async () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const calls: string[] = [];
    // Run a costs 10 ms, b 20 ms; the second timed round is slowed 10× for both (a load spike).
    let round = 0;
    const run = (name: string, ms: number) => () => {
      calls.push(name);
      now += ms * (round === 2 ? 10 : 1);
      if (name === 'b') round++;
    };
    const [a, b] = await timeInTurns(fakeDevice(), [run('a', 10), run('b', 20)], 3, 1);
    expect(calls).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']); // 1 warmup round + 3 timed, alternating
    expect(a).toBe(10);
    expect(b).toBe(20);
  });

  it('keeps a warmup round that took over a second as a sample', async () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    let n = 0;
    const [t] = await timeInTurns(fakeDevice(), [() => { n++; now += 1500; }], 1, 1);
    expect(n).toBe(1);
    expect(t).toBe(1500);
  });
});
