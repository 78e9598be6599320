// The benchmark's timing: runs sampled in turns (so a load spike on a shared machine hits
// every weight format of a row alike), warmup rounds untimed, medians per run. A fake clock
// stands in for the GPU: each run advances it by its own cost.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { medianRateRatio, perRoundRatios, sampleInTurns, timeInTurns } from './kernel-bench';

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

  it('never times the first round (compiles), and keeps a later warmup round over a second as a sample', async () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    // The first call compiles for 27 s, every later one takes 1.5 s.
    let n = 0;
    const run = () => { now += n++ === 0 ? 27_000 : 1500; };
    const [t] = await timeInTurns(fakeDevice(), [run], 1, 1);
    expect(n).toBe(2);
    expect(t).toBe(1500);
    // With 3 warmup rounds, the second (over a second) is a sample and ends the warmup.
    n = 0;
    const [u] = await timeInTurns(fakeDevice(), [run], 1, 3);
    expect(n).toBe(2);
    expect(u).toBe(1500);
  });
});

describe('sampleInTurns', () => {
  afterEach(() => vi.restoreAllMocks());

  it('stops at the time budget by default, and takes every round of reps without one', async () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const slow = () => { now += 2000; };
    expect((await sampleInTurns(fakeDevice(), [slow], 5, 0)).length).toBe(2); // 2.5 s budget per run
    expect(await sampleInTurns(fakeDevice(), [slow], 5, 0, Infinity)).toEqual([[2000], [2000], [2000], [2000], [2000]]);
  });
});

describe('perRoundRatios', () => {
  it('takes attention over matmul per round, so a round slowed for all runs alike keeps its ratio', () => {
    // FLOPs: attention forward 1e6, backward 2.5e6; matmul forward and backward 4e6 each.
    const flops = [1e6, 2.5e6, 4e6, 4e6];
    // Matmul: 8e6 FLOPs in 2 ms = 4 GFLOP/s; attention forward 1 GFLOP/s (0.25×), backward 2 GFLOP/s (0.5×).
    const quiet = [1, 1.25, 1, 1];
    const loaded = quiet.map((ms) => ms * 3);
    // A round where only the matmul was slowed (0.75×, 1.5×) is the odd one out: the median ignores it.
    const skewed = [1, 1.25, 3, 3];
    const r = perRoundRatios([quiet, loaded, skewed, quiet, loaded], flops);
    expect(r.rounds).toBe(5);
    expect(r.forward).toBeCloseTo(0.25, 12);
    expect(r.backward).toBeCloseTo(0.5, 12);
    // GFLOP/s: medians of the rounds' rates (quiet rounds 1, 2, 4; loaded a third of that).
    expect(r.gflops.forward).toBeCloseTo(1, 12);
    expect(r.gflops.backward).toBeCloseTo(2, 12);
    expect(r.gflops.matmul).toBeCloseTo(4 / 3, 12);
  });
});

describe('medianRateRatio', () => {
  it('takes one set of runs\' rate over another\'s per round (FLOPs over ms of each set), then the median', () => {
    // Runs: D=64 forward (1e6 FLOPs), D=256 forward (4e6 FLOPs).
    const flops = [1e6, 4e6];
    // Quiet: 1 ms and 5 ms (the D=256 rate is 0.8× the D=64 rate); a loaded round slows both 3×;
    // a round where only D=256 was hit (10 ms: 0.4×) is outvoted.
    const rounds = [[1, 5], [3, 15], [1, 10], [1, 5], [3, 15]];
    expect(medianRateRatio(rounds, flops, [1], [0])).toBeCloseTo(0.8, 12);
    // Two runs together: (1e6 + 4e6) FLOPs over (1 + 5) ms, against run 0 alone.
    expect(medianRateRatio([[1, 5]], flops, [0, 1], [0])).toBeCloseTo(5 / 6, 12);
  });
});
