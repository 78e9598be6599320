// Preference pairs in a recipe's data files: TRL's {prompt, chosen, rejected} (message lists or
// strings) and Axolotl's DPO layouts. Only the data layout: the DPO/ORPO settings are mapping.ts's.
import { describe, expect, it } from 'vitest';
import { loadTokenizer, parseDataset, selectTrainingExamples, tokenizeExamples, type Example } from '../../data';
import { tinyTokenizerFiles } from '../../../test/fixtures/tiny-tokenizer';
import { DEFAULT_SETTINGS } from '../settings';
import { dataLayout } from './mapping';
import { exampleRow, pairsConversational, recipeFiles } from './recipe';
import type { RunRecord } from './run-record';

const jsonl = (rows: unknown[]) => new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
const read = async (rows: unknown[]) => selectTrainingExamples(await parseDataset(jsonl(rows), { fileName: 'pairs.jsonl' }));
const strip = (ex: Example[]) => ex.map(({ row: _r, line: _l, ...rest }) => rest);

const conversational = Array.from({ length: 4 }, (_, i) => ({
  prompt: [...(i % 2 ? [{ role: 'system', content: 'Be brief.' }] : []), { role: 'user', content: `Capital of country ${i}?` }],
  chosen: [{ role: 'assistant', content: `City ${i}, "quoted" é` }],
  rejected: [{ role: 'assistant', content: `I don't know ${i}.` }],
}));
const plain = Array.from({ length: 3 }, (_, i) => ({ prompt: `Q${i}:`, chosen: ` yes ${i}`, rejected: ` no ${i}` }));
// A multi-turn prompt with a system message: earlier assistant turns are context.
const multiTurn = {
  prompt: [{ role: 'system', content: 'Count.' }, { role: 'user', content: 'One?' }, { role: 'assistant', content: '1' }, { role: 'user', content: 'Two?' }],
  chosen: [{ role: 'assistant', content: '2' }],
  rejected: [{ role: 'assistant', content: 'three' }],
};
const sftRun: RunRecord = {
  objective: { kind: 'sft' },
  settings: DEFAULT_SETTINGS,
  engine: { packing: true, maxGradNorm: 1, weightDecay: 0, weights: 'f32', recompute: 'auto' },
  data: { file: 'pairs.jsonl', sha256: '0'.repeat(64), excludeInvalid: false, dedupe: false, examples: 4 },
  base: { id: 'org/m', revision: null },
};

describe('preference layouts', () => {
  it('picks TRL’s layout, and Axolotl’s DPO or ORPO layout, for preference pairs, whatever the loss mode', () => {
    for (const mode of ['all-assistant', 'last-assistant', 'all'] as const) {
      for (const objective of ['dpo', 'orpo'] as const) expect(dataLayout('trl', 'preference', mode, objective)).toBe('preference');
      expect(dataLayout('axolotl', 'preference', mode, 'dpo')).toBe('axolotl-preference');
      expect(dataLayout('axolotl', 'preference', mode, 'orpo')).toBe('axolotl-orpo');
    }
  });

  it('Axolotl ORPO: chat_template.argilla rows (system apart, each side the prompt’s turns and its reply) read back as the same pairs with the same masks', async () => {
    const tok = loadTokenizer(tinyTokenizerFiles());
    const examples = await read([...conversational, multiTurn]);
    const rows = examples.map((ex) => exampleRow(ex, 'axolotl-orpo'));
    expect(rows[1]).toEqual({
      system: 'Be brief.',
      chosen: [{ role: 'user', content: 'Capital of country 1?' }, { role: 'assistant', content: 'City 1, "quoted" é' }],
      rejected: [{ role: 'user', content: 'Capital of country 1?' }, { role: 'assistant', content: "I don't know 1." }],
    });
    expect(rows[0]).not.toHaveProperty('system');
    // What Axolotl renders: the system message, then chosen/rejected (their shared turns are the prompt).
    const back = await read(rows.map((r) => {
      const { system, chosen, rejected } = r as { system?: string; chosen: unknown[]; rejected: unknown[] };
      const sys = system === undefined ? [] : [{ role: 'system', content: system }];
      return { chosen: [...sys, ...chosen], rejected: [...sys, ...rejected] };
    }));
    expect(strip(back)).toEqual(strip(examples));
    const masks = async (ex: Example[]) => (await tokenizeExamples(tok, ex)).pairs.map((p) => [p.promptLength, [...p.chosen.inputIds], [...p.chosen.labels], [...p.rejected.inputIds], [...p.rejected.labels]]);
    expect(await masks(back)).toEqual(await masks(examples));
    expect((await masks(examples)).length).toBe(5);
  });

  it('Axolotl ORPO refuses plain pairs and prompts the argilla layout cannot hold, saying to export for TRL', async () => {
    const [p0] = await read(plain);
    expect(() => exampleRow(p0, 'axolotl-orpo')).toThrow(/row 1: Axolotl's ORPO layout \(chat_template\.argilla\) reads conversations through a chat template, this pair is plain text \(export for TRL instead\)/);
    const [twoUsers] = await read([{ prompt: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }], chosen: [{ role: 'assistant', content: 'c' }], rejected: [{ role: 'assistant', content: 'd' }] }]);
    expect(() => exampleRow(twoUsers, 'axolotl-orpo')).toThrow(/alternating from a user turn up to the reply; this pair's prompt is user, user \(export for TRL instead\)/);
    const [c0] = await read(conversational);
    const twoReplies = { ...c0, chosen: [...(c0 as Extract<Example, { kind: 'preference' }>).chosen, { role: 'user' as const, content: 'more' }] } as Example;
    expect(() => exampleRow(twoReplies, 'axolotl-orpo')).toThrow(/takes one reply per side, this pair has 2 chosen/);
    const pairs = await read(plain);
    const run: RunRecord = { ...sftRun, objective: { kind: 'orpo', lambda: 0.1 }, settings: { ...DEFAULT_SETTINGS, objective: 'orpo' }, data: { ...sftRun.data, examples: 3 } };
    expect(() => recipeFiles('axolotl', run, pairs, { gpus: 1 })).toThrow(/plain text \(export for TRL instead\)/);
    expect(() => recipeFiles('trl', run, pairs, { gpus: 1 })).not.toThrow();
  });

  it.each([
    ['conversational', conversational],
    ['plain', plain],
  ])('TRL %s pairs parse back through our pipeline to the same examples', async (_, rows) => {
    const examples = await read(rows);
    const back = await read(examples.map((ex) => exampleRow(ex, 'preference')));
    expect(strip(back)).toEqual(strip(examples));
  });

  it('Axolotl: conversations as chat_template.default rows, plain pairs as the same strings TRL reads', async () => {
    const [c0] = await read(conversational);
    expect(exampleRow(c0, 'axolotl-preference')).toEqual({
      messages: [{ role: 'user', content: 'Capital of country 0?' }],
      chosen: { role: 'assistant', content: 'City 0, "quoted" é' },
      rejected: { role: 'assistant', content: "I don't know 0." },
    });
    // What Axolotl renders from a row: the messages, then each reply.
    const conv = await read([...conversational, multiTurn]);
    const convRows = conv.map((ex) => exampleRow(ex, 'axolotl-preference') as { messages: unknown[]; chosen: unknown; rejected: unknown });
    expect(strip(await read(convRows.map((r) => ({ prompt: r.messages, chosen: [r.chosen], rejected: [r.rejected] }))))).toEqual(strip(conv));
    const p = await read(plain);
    const rows = p.map((ex) => exampleRow(ex, 'axolotl-preference'));
    expect(rows[0]).toEqual({ prompt: 'Q0:', chosen: ' yes 0', rejected: ' no 0' });
    expect(strip(await read(rows))).toEqual(strip(p));
  });

  it('refuses what a layout cannot hold', async () => {
    const [c0] = await read(conversational);
    const twoTurns = { ...c0, chosen: [...(c0 as Extract<Example, { kind: 'preference' }>).chosen, { role: 'user' as const, content: 'more' }] } as Example;
    expect(() => exampleRow(twoTurns, 'axolotl-preference')).toThrow(/row 1: Axolotl's chat_template DPO layout takes one reply per side, this pair has 2 chosen/);
    expect(exampleRow(twoTurns, 'preference')).toMatchObject({ chosen: [{ role: 'assistant' }, { role: 'user', content: 'more' }] });
    const [sft] = await read([{ prompt: 'a', completion: 'b' }]);
    expect(() => exampleRow(sft, 'preference')).toThrow(/a completion example cannot be written in the preference layout/);
    expect(() => exampleRow(c0, 'messages')).toThrow(/a preference example cannot be written in the messages layout/);
    const mixed = [...(await read(conversational)), ...(await read(plain))];
    expect(() => pairsConversational(mixed)).toThrow(/mixes message lists and plain strings/);
    expect(pairsConversational([sft])).toBeNull();
  });

  it('an SFT run’s recipe refuses preference pairs (a preference objective writes them)', async () => {
    const pairs = await read(conversational);
    for (const target of ['axolotl', 'trl'] as const) expect(() => recipeFiles(target, sftRun, pairs, { gpus: 1 })).toThrow(/an SFT run does not train on preference pairs/);
  });
});
