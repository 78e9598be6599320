import { describe, expect, it } from 'vitest';
import { allCompleteAnswers, decide, nextQuestion, type RecommendationId } from './decide';

const ALL_IDS: RecommendationId[] = ['prompt', 'keep-prompting', 'retrieval', 'few-shot', 'fine-tune', 'preference-tune', 'collect-pairs', 'fine-tune-smaller', 'collect-data'];

describe('advisor decision tree', () => {
  it('starts with the problem question', () => {
    expect(nextQuestion({})?.key).toBe('problem');
  });

  it('reaches every recommendation from some complete path', () => {
    const reached = new Set(allCompleteAnswers().map((a) => decide(a).id));
    expect([...reached].sort()).toEqual([...ALL_IDS].sort());
  });

  it('gives reasons and costs for every outcome, and a training path only for fine-tuning', () => {
    for (const a of allCompleteAnswers()) {
      const r = decide(a);
      expect(r.why.length, JSON.stringify(a)).toBeGreaterThan(0);
      expect(r.costs.length).toBeGreaterThan(0);
      expect(r.fineTune).toBe(r.id === 'fine-tune' || r.id === 'preference-tune' || r.id === 'fine-tune-smaller');
    }
  });

  it('sends missing or changing knowledge to retrieval without asking about data', () => {
    expect(nextQuestion({ problem: 'knowledge' })?.key).toBe('knowledge');
    expect(decide({ problem: 'knowledge', knowledge: 'changing' }).id).toBe('retrieval');
    expect(decide({ problem: 'knowledge', knowledge: 'missing' }).id).toBe('retrieval');
  });

  it('style: prompt first, fine-tune only with enough data, else few-shot', () => {
    expect(decide({ problem: 'style', prompting: 'not-yet' }).id).toBe('prompt');
    expect(decide({ problem: 'style', prompting: 'works' }).id).toBe('keep-prompting');
    expect(nextQuestion({ problem: 'style', prompting: 'not-enough' })?.key).toBe('data');
    expect(decide({ problem: 'style', prompting: 'not-enough', data: 'enough' }).id).toBe('fine-tune');
    expect(decide({ problem: 'style', prompting: 'not-enough', data: 'few' }).id).toBe('few-shot');
    expect(decide({ problem: 'behavior', prompting: 'not-enough', data: 'none' }).id).toBe('few-shot');
  });

  it('cost or latency: a smaller fine-tuned model when there is data, collect it otherwise', () => {
    expect(decide({ problem: 'cost', prompting: 'works', data: 'enough' }).id).toBe('fine-tune-smaller');
    expect(decide({ problem: 'cost', prompting: 'works', data: 'few' }).id).toBe('collect-data');
    expect(decide({ problem: 'cost', prompting: 'not-yet', data: 'none' }).id).toBe('prompt');
  });

  it('preference ("answers, but not the way you prefer"): asks for ranked pairs, then DPO/ORPO with what data it needs', () => {
    expect(decide({ problem: 'preference', prompting: 'not-yet' }).id).toBe('prompt');
    expect(decide({ problem: 'preference', prompting: 'works' }).id).toBe('keep-prompting');
    expect(nextQuestion({ problem: 'preference', prompting: 'not-enough' })?.key).toBe('pairs');
    const r = decide({ problem: 'preference', prompting: 'not-enough', pairs: 'enough' });
    expect(r.id).toBe('preference-tune');
    expect(r.next.join(' ')).toMatch(/prompt \/ chosen \/ rejected/);
    expect(r.next.join(' ')).toMatch(/DPO .*β.*ORPO/);
    expect(decide({ problem: 'preference', prompting: 'not-enough', pairs: 'few' }).id).toBe('collect-pairs');
    expect(decide({ problem: 'preference', prompting: 'not-enough', pairs: 'none' }).id).toBe('collect-pairs');
    // The SFT question about input → output examples is not asked on this path.
    expect(allCompleteAnswers().filter((a) => a.problem === 'preference').every((a) => a.data === undefined)).toBe(true);
  });

  it('refuses to decide with an open question', () => {
    expect(() => decide({ problem: 'style' })).toThrow(/prompting/);
  });
});
