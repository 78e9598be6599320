// Sampling during training never fails a run (the GPU side: session.gpu.test.ts).
import { describe, expect, it } from 'vitest';
import { collectSamples, type TrainingSample } from './session';
import { DeviceLostError } from './trainer';

describe('collectSamples', () => {
  it('a prompt that throws becomes a sample with its error; the next prompt is still answered', async () => {
    const got: TrainingSample[] = [];
    const answer = async (p: string) => {
      if (p === 'bad') throw new Error('Cannot use apply_chat_template() because tokenizer.chat_template is not set');
      return `re: ${p}`;
    };
    await collectSamples(3, ['bad', 'good'], answer, (s) => void got.push(s));
    expect(got).toEqual([
      { step: 3, prompt: 'bad', output: '', error: 'Cannot use apply_chat_template() because tokenizer.chat_template is not set' },
      { step: 3, prompt: 'good', output: 're: good' },
    ]);
  });

  it('a lost device is not a sample error: it stops the sampling (and the run) with DeviceLostError', async () => {
    const got: TrainingSample[] = [];
    const lost = new DeviceLostError({ reason: 'destroyed', message: 'Device was destroyed.' } as GPUDeviceLostInfo);
    const answer = async (p: string) => {
      if (p === 'second') throw lost;
      return p;
    };
    await expect(collectSamples(2, ['first', 'second', 'third'], answer, (s) => void got.push(s))).rejects.toBe(lost);
    expect(got).toEqual([{ step: 2, prompt: 'first', output: 'first' }]);
    expect(lost.detail).toBe('Device was destroyed.');
  });

  it('a failure to store a sample is not hidden', async () => {
    await expect(collectSamples(1, ['p'], async () => 'x', () => Promise.reject(new Error('quota exceeded')))).rejects.toThrow('quota exceeded');
  });
});
