import { describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../test/fixtures/tiny-model';
import { adviseSeqLen, chooseSeqLen, maxPositionsOf, seqLenProblem } from './seq-len';

describe('sequence length against max_position_embeddings', () => {
  it('defaults to min(512, the model’s positions) and says why when that is below 512', () => {
    const short = adviseSeqLen(512, 256);
    expect(short.suggested).toBe(256);
    expect(short.note).toMatch(/at most 256 tokens \(max_position_embeddings\), so the sequence length defaults to 256 instead of 512/);
    const long = adviseSeqLen(512, 8192);
    expect(long.suggested).toBe(512);
    expect(long.note).toMatch(/at most 8192 tokens/);
    expect(long.note).not.toMatch(/defaults to/);
  });

  it('refuses a longer setting, accepts the limit itself, and counts tokens at the capped length', () => {
    expect(adviseSeqLen(256, 256).error).toBeNull();
    const over = adviseSeqLen(300, 256);
    expect(over.error).toBe("sequence length 300 is longer than this model's max_position_embeddings (256); positions past it were never trained, so use 256 or less");
    expect(over.effective).toBe(256);
    expect(adviseSeqLen(128, 256).effective).toBe(128);
    expect(seqLenProblem(257, 256)).toMatch(/257 is longer/);
    expect(seqLenProblem(256, 256)).toBeNull();
  });

  it('without a known model nothing is capped or refused', () => {
    expect(adviseSeqLen(4096, null)).toEqual({ maxPositions: null, suggested: 512, effective: 4096, error: null, note: null });
    expect(maxPositionsOf(null)).toBeNull();
    expect(maxPositionsOf({ model_type: 'not a model' })).toBeNull();
    expect(maxPositionsOf(buildTinyModel().configJson)).toBe(256);
  });

  it('chooseSeqLen: an asked length is kept (with its problem); none asked takes the model’s default', () => {
    expect(chooseSeqLen(undefined, 256)).toEqual({ seqLen: 256, error: null });
    expect(chooseSeqLen(undefined, null)).toEqual({ seqLen: 512, error: null });
    expect(chooseSeqLen(128, 256)).toEqual({ seqLen: 128, error: null });
    expect(chooseSeqLen(1024, 256).error).toMatch(/1024 is longer/);
  });
});
