// Token statistics for the data screen: the dataset on screen tokenized with the chosen
// model's own tokenizer and chat template, with the loss mask the trainer will use.
import { datasetStats, describeTokenization, loadTokenizer, previewTokens, tokenizeExamples, type DatasetStats, type PreviewSegment } from '../data';
import { readModelMetadata } from '../hub';
import type { ModelRef } from '../persist/records';
import { currentExamples } from './dataset-service';
import { endJob, startJob } from './jobs';
import { openModel } from './models-service';
import type { LossMode } from './settings';

export type { DatasetStats, PreviewSegment } from '../data';

export interface TokenReport {
  model: string;
  /** The loss mask the trained tokens were marked with. */
  lossMode: LossMode;
  /** How the examples were tokenized (chat template or plain text), one sentence per kind. */
  tokenizedAs: string[];
  stats: DatasetStats;
  /** Token lengths of every example (for the histogram). */
  lengths: number[];
  /** The first examples as token segments, trained ones flagged. */
  preview: { row: number; segments: PreviewSegment[] }[];
  templateErrors: { row: number; message: string }[];
  specialTokenRows: number[];
}

const PREVIEW = 10;

export async function tokenStats(jobId: string, ref: ModelRef, seqLen: number, lossMode: LossMode, onProgress?: (p: { done: number; total: number }) => void): Promise<TokenReport> {
  const signal = startJob(jobId);
  try {
    const meta = await readModelMetadata(await openModel(ref));
    const tok = loadTokenizer({ tokenizerJson: meta.tokenizer as object, tokenizerConfig: meta.tokenizerConfig });
    const examples = currentExamples();
    const r = await tokenizeExamples(tok, examples, { lossMode, onProgress, signal });
    // A preference pair is two sequences; both are shown and counted.
    const sequences = [...r.examples, ...r.pairs.flatMap((p) => [p.chosen, p.rejected])];
    return {
      model: ref.id,
      lossMode,
      tokenizedAs: describeTokenization(examples.map((e) => e.kind), tok.hasChatTemplate),
      stats: datasetStats([...r.examples, ...r.pairs], { maxLength: seqLen }),
      lengths: sequences.map((e) => e.inputIds.length),
      preview: sequences.slice(0, PREVIEW).map((e) => ({ row: e.row, segments: previewTokens(tok, e) })),
      templateErrors: r.errors.map((e) => ({ row: e.row, message: e.message })),
      specialTokenRows: r.specialTokenRows,
    };
  } finally {
    endJob(jobId, signal);
  }
}
