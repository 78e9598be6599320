import { describe, expect, it } from 'vitest';
import { parseFewShot } from './few-shot';

describe('few-shot examples box', () => {
  it('turns role lines into turns and joins continuation lines', () => {
    expect(parseFewShot('User: lunch at 1?\nassistant: EVENT: Lunch\nWHEN: 13:00\n\nuser: hi')).toEqual([
      { role: 'user', content: 'lunch at 1?' },
      { role: 'assistant', content: 'EVENT: Lunch\nWHEN: 13:00' },
      { role: 'user', content: 'hi' },
    ]);
  });
  it('ignores text before the first role line', () => {
    expect(parseFewShot('examples:\n')).toEqual([]);
  });
});
