import { describe, expect, it } from 'vitest';
import { busyReasons, markBusy } from './busy';

describe('busy reasons for the update prompt', () => {
  it('tracks overlapping work and forgets each piece once', () => {
    expect(busyReasons()).toEqual([]);
    const doneTraining = markBusy('Training');
    const doneDownload = markBusy('A model download');
    expect(busyReasons()).toEqual(['Training', 'A model download']);
    doneTraining();
    doneTraining();
    expect(busyReasons()).toEqual(['A model download']);
    doneDownload();
    expect(busyReasons()).toEqual([]);
  });
});
