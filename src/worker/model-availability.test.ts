import { describe, expect, it } from 'vitest';
import { lostModelNotice, modelMissingMessage } from './model-availability';

describe('lostModelNotice', () => {
  const imported = { id: 'tiny-llama', source: 'local' as const };

  it('says an imported model was removed by the browser when the cache no longer lists it', () => {
    const notice = lostModelNotice(imported, [{ id: 'HuggingFaceTB/SmolLM2-135M-Instruct', source: 'hub' }]);
    expect(notice).toBe(modelMissingMessage(imported));
    expect(notice).toMatch(/The imported model “tiny-llama” was removed .* Import its folder again on the Model screen\./);
    // A Hub model of the same name is not the imported one.
    expect(lostModelNotice(imported, [{ id: 'tiny-llama', source: 'hub' }])).not.toBeNull();
  });

  it('is quiet while the imported model is cached, and for Hub models (not downloaded is not lost)', () => {
    expect(lostModelNotice(imported, [{ id: 'tiny-llama', source: 'local' }])).toBeNull();
    expect(lostModelNotice({ id: 'owner/model', source: 'hub' }, [])).toBeNull();
    expect(modelMissingMessage({ id: 'owner/model', source: 'hub' })).toMatch(/not on this device yet/);
  });
});
