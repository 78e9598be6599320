// Preference pairs in a recipe's data files: TRL's {prompt, chosen, rejected} (message lists or
// strings) and Axolotl's DPO layouts. Only the data layout: the DPO/ORPO settings are mapping.ts's.
import { describe, expect, it } from 'vitest';
import { parseDataset, selectTrainingExamples, type Example } from '../../data';
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

describe('preference layouts', () => {
  it('picks TRL’s layout and Axolotl’s DPO layout for preference pairs, whatever the loss mode', () => {
    for (const mode of ['all-assistant', 'last-assistant', 'all'] as const) {
      expect(dataLayout('trl', 'preference', mode, 'dpo')).toBe('preference');
      expect(dataLayout('axolotl', 'preference', mode, 'dpo')).toBe('axolotl-preference');
    }
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
    const run: RunRecord = {
      objective: { kind: 'sft' },
      settings: DEFAULT_SETTINGS,
      engine: { packing: true, maxGradNorm: 1, weightDecay: 0, weights: 'f32', recompute: 'auto' },
      data: { file: 'pairs.jsonl', sha256: '0'.repeat(64), excludeInvalid: false, dedupe: false, examples: 4 },
      base: { id: 'org/m', revision: null },
    };
    const pairs = await read(conversational);
    for (const target of ['axolotl', 'trl'] as const) expect(() => recipeFiles(target, run, pairs, { gpus: 1 })).toThrow(/an SFT run does not train on preference pairs/);
  });
});
