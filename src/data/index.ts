// The dataset pipeline's public API (same in the studio's Web Worker and in the CLI):
//
//   const parsed = await parseDataset(bytesOrFile, { fileName: 'train.jsonl', onProgress, signal });
//   // show parsed.errors / parsed.warnings / parsed.duplicates; ask for a mapping if parsed.format is null
//   const examples = selectTrainingExamples(parsed, { excludeInvalid: true, removeDuplicates: true });
//   const tok = loadTokenizer({ tokenizerJson, tokenizerConfig });
//   const { examples: tokenized, errors } = await tokenizeExamples(tok, examples, { lossMode: 'all-assistant' });
//   const stats = datasetStats(tokenized, { maxLength: T });
//   const { train, val } = splitTrainVal(tokenized, { valFraction: 0.1, seed });
//   const batches = new BatchIterator(train, { B, T, seed }, savedPosition);
//   const batch = batches.next();  // {inputIds, targets (shifted), positions, segmentIds, B, T, numTargets}

export type {
  DataWarning,
  DatasetFormat,
  Example,
  ExampleKind,
  FieldMapping,
  FileError,
  FileType,
  Message,
  PreferenceExample,
  Role,
  RowError,
  RowErrorCode,
  SftExample,
} from './types';
export type { BlobLike, DatasetInput } from './bytes';
export { parseDataset, selectTrainingExamples, DatasetNotReadyError, MIN_RECOMMENDED_EXAMPLES, MAX_LISTED_ERRORS } from './parse';
export type { ParseOptions, ParseProgress, ParseResult, SelectOptions } from './parse';
export { detectFormat, normalizeRecord, STANDARD_MAPPINGS } from './formats';
export type { FormatDetection } from './formats';
export { findDuplicates, removeDuplicates } from './duplicates';
export type { DuplicateGroup } from './duplicates';
export { loadTokenizer } from './tokenizer';
export type { ChatTokenizer, TokenizerFiles } from './tokenizer';
export { describeTokenization, trainingData, tokenizeExample, tokenizeExamples, tokenizePair, IGNORE_INDEX, MaskError } from './tokenize';
export { bosPrefix, plainTextPrompt, promptIds, ReplyText } from './prompt';
export type { PromptOptions } from './prompt';
export type { LossMode, TokenizeOptions, TokenizedExample, TokenizedPair, TokenizeResult } from './tokenize';
export { datasetStats, previewTokens, trainedTokens } from './stats';
export type { DatasetStats, PreviewSegment } from './stats';
export { seededShuffle, shuffledIndices, splitTrainVal } from './split';
export { BatchIterator } from './batches';
export type { Batch, BatchOptions, BatchPosition } from './batches';
