import { describe, expect, it } from 'vitest';
import { baseModelName, defaultHubId } from './presets';

describe('the Hub id of a model imported from a folder', () => {
  it('defaults to config.json’s _name_or_path when it is a Hub id, else to the folder name', () => {
    expect(defaultHubId({ _name_or_path: 'acme/tiny-llama-128' }, 'hf')).toBe('acme/tiny-llama-128');
    expect(defaultHubId({ _name_or_path: '/home/me/models/tiny' }, 'hf')).toBe('hf');
    expect(defaultHubId({ _name_or_path: '' }, 'hf')).toBe('hf');
    expect(defaultHubId({}, 'hf')).toBe('hf');
    expect(defaultHubId(null, 'hf')).toBe('hf');
  });

  it('is what exports name as the base model; Hub models keep their own id', () => {
    expect(baseModelName({ id: 'hf', source: 'local', hubId: 'acme/tiny-llama-128' })).toBe('acme/tiny-llama-128');
    expect(baseModelName({ id: 'hf', source: 'local', hubId: '  ' })).toBe('hf');
    expect(baseModelName({ id: 'hf', source: 'local' })).toBe('hf');
    expect(baseModelName({ id: 'owner/model', source: 'hub', hubId: 'other/x' })).toBe('owner/model');
  });
});
