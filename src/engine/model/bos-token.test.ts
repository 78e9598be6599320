import { describe, expect, it } from 'vitest';
import { addsBosToken } from './bos-token';

const BOS = '<|begin_of_text|>';
// Llama 3's tokenizer.json post-processor (byte level, then a template that prepends BOS).
const llama3 = {
  post_processor: {
    type: 'Sequence',
    processors: [
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      { type: 'TemplateProcessing', single: [{ SpecialToken: { id: BOS, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: {} },
    ],
  },
};

describe('whether plain text starts with BOS', () => {
  it('follows add_bos_token when tokenizer_config.json sets it, either way', () => {
    expect(addsBosToken({ add_bos_token: true }, {}, '<s>')).toBe(true);
    expect(addsBosToken({ add_bos_token: false }, llama3, BOS)).toBe(false);
  });

  it('reads a TemplateProcessing post-processor that prepends BOS (Llama 3), alone or in a Sequence', () => {
    expect(addsBosToken({}, llama3, BOS)).toBe(true);
    expect(addsBosToken({}, { post_processor: llama3.post_processor.processors[1] }, BOS)).toBe(true);
  });

  it('is false for a template that does not start with BOS, a ByteLevel-only post-processor, none, or no BOS token', () => {
    const eosOnly = { post_processor: { type: 'TemplateProcessing', single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }] } };
    expect(addsBosToken({}, eosOnly, '<s>')).toBe(false);
    expect(addsBosToken({}, { post_processor: { type: 'ByteLevel' } }, BOS)).toBe(false);
    expect(addsBosToken({}, { post_processor: null }, BOS)).toBe(false);
    expect(addsBosToken({}, llama3, null)).toBe(false);
  });
});
