// The whole flow on the sample dataset a first-time user gets: parse → select → tokenize →
// stats → split → batches, through the public API.
import { describe, expect, it } from 'vitest';
import { tinyTokenizerFiles } from '../../test/fixtures/tiny-tokenizer';
import {
  BatchIterator,
  datasetStats,
  IGNORE_INDEX,
  loadTokenizer,
  parseDataset,
  selectTrainingExamples,
  splitTrainVal,
  tokenizeExamples,
} from './index';
import sampleText from '../../public/samples/calendar-lines.jsonl?raw';


describe('sample dataset end to end', () => {
  it('parses cleanly, masks exactly the answers, and batches every training example once per epoch', async () => {
    const parsed = await parseDataset(new TextEncoder().encode(sampleText), { fileName: 'calendar-lines.jsonl' });
    expect(parsed.format).toBe('chat');
    expect(parsed.errors).toEqual([]);
    expect(parsed.fileErrors).toEqual([]);
    expect(parsed.duplicates).toEqual([]);
    expect(parsed.warnings).toEqual([]); // 300 examples: above the seed rule's threshold
    const examples = selectTrainingExamples(parsed);
    expect(examples).toHaveLength(300);

    const files = tinyTokenizerFiles();
    const tok = loadTokenizer(JSON.parse(JSON.stringify({ tokenizerJson: files.tokenizerJson, tokenizerConfig: files.tokenizerConfig })));
    const { examples: tokenized, errors, specialTokenRows } = await tokenizeExamples(tok, examples);
    expect(errors).toEqual([]);
    expect(specialTokenRows).toEqual([]);
    tokenized.forEach((t, i) => {
      const trained = Array.from(t.labels).filter((l) => l !== IGNORE_INDEX);
      expect(tok.decode(trained)).toBe(examples[i].messages[1].content + '<|im_end|>');
      for (const id of t.inputIds) expect(id).toBeLessThan(tok.vocabSize);
    });

    const stats = datasetStats(tokenized, { maxLength: 256 });
    expect(stats.examples).toBe(300);
    expect(stats.trainedShare).toBeGreaterThan(0.1);
    expect(stats.trainedShare).toBeLessThan(0.9);
    expect(stats.histogram.counts.reduce((a, b) => a + b, 0)).toBe(300);
    expect(stats.maxLength).toBeLessThanOrEqual(256);
    expect(stats.truncation).toMatchObject({ overLength: 0, tokensLost: 0, fullyTruncatedRows: [] });
    // At 128 tokens the tiny byte-level tokenizer would cut some answers away completely.
    expect(datasetStats(tokenized, { maxLength: 128 }).truncation!.fullyTruncatedRows.length).toBeGreaterThan(0);

    const { train, val } = splitTrainVal(tokenized, { valFraction: 0.1, seed: 1 });
    expect([train.length, val.length]).toEqual([270, 30]);
    const it = new BatchIterator(train, { B: 4, T: 256, seed: 1 });
    const rows: number[] = [];
    let targets = 0;
    for (const b of it.epochBatches(0)) {
      rows.push(...b.rows);
      targets += b.numTargets;
    }
    expect(rows.sort((a, b) => a - b)).toEqual(train.map((t) => t.row).sort((a, b) => a - b));
    // Every trained label except a sequence's first token becomes exactly one target.
    expect(targets).toBe(datasetStats(train).trainedTokens);
  });
});
