import { expect, it } from 'vitest';
import { playgroundMessages } from './generation-service';
import { resolveBaseline, systemPrompt } from '../eval';

it('the playground’s baseline column gets the conversation the evaluation gives the prompted baseline', () => {
  const baseline = { systemPrompt: 'Reply with JSON.', fewShotText: 'user: lunch at 1\nassistant: {"event":"lunch"}' };
  const question = [{ role: 'user' as const, content: 'dinner at 7' }];
  const messages = playgroundMessages({ messages: question, baseline });
  expect(messages).toEqual([
    { role: 'system', content: 'Reply with JSON.' },
    { role: 'user', content: 'lunch at 1' },
    { role: 'assistant', content: '{"event":"lunch"}' },
    { role: 'user', content: 'dinner at 7' },
  ]);
  expect(messages).toEqual(systemPrompt('prompted', { prompt: question, reference: 'x', row: 3 }, resolveBaseline(baseline)));
  // Other columns: the prompt as typed.
  expect(playgroundMessages({ messages: question })).toBe(question);
  expect(() => playgroundMessages({ messages: question, baseline: { systemPrompt: '', fewShotText: 'assistant: orphan' } })).toThrow('Few-shot example 1 has an assistant answer without a user turn before it.');
});
