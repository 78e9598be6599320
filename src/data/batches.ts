// Tokenized examples → fixed-shape training batches, seeded and resumable.
//
// Batch layout (all arrays row-major [B·T], row b occupies [b·T, (b+1)·T)):
//   inputIds   Uint32Array  token ids; padding uses `padId`.
//   targets    Int32Array   already shifted: targets[t] = labels[t+1] of the same sequence, so the
//                           loss at position t predicts the token at t+1. IGNORE_INDEX (-100) where
//                           that token is not trained, at the last token of each sequence (nothing
//                           follows it inside its sequence) and on padding.
//   positions  Uint32Array  position ids for RoPE, restarting at 0 for every packed sequence; 0 on padding.
//   segmentIds Uint32Array  1, 2, 3, ... for the sequences of a row; 0 for padding. Attention must
//                           stay within a segment (causal and same segmentId), so packed
//                           sequences never see each other.
//   numTargets              number of targets != -100 (the loss is a mean over these).
//
// Rows: with packing (default), examples are packed once, in a seeded order, into rows of at most T
// tokens (first fit among the last few open rows; an example is never split across rows). Without
// packing every row is one example, padded. Rows are reshuffled every epoch with a seed derived from
// (seed, epoch), so a run is deterministic, and a position {epoch, index} (index = next batch within
// the epoch) is all a checkpoint needs to resume exactly. Every epoch has the same number of batches.
// Examples longer than T are truncated to their first T tokens (or dropped with overLength: 'drop');
// examples left with no trained target are skipped and listed in `skippedRows`.

import { IGNORE_INDEX } from './tokenize';
import type { TokenizedExample } from './tokenize';
import { trainedTokens } from './stats';
import { mixSeed, shuffledIndices } from './split';

export interface Batch {
  inputIds: Uint32Array;
  targets: Int32Array;
  positions: Uint32Array;
  segmentIds: Uint32Array;
  B: number;
  T: number;
  numTargets: number;
  /** Where this batch sits in the run. */
  epoch: number;
  index: number;
  /** Source rows (file rows) of the sequences in this batch, in order. */
  rows: number[];
}

/** Resumable position: the next batch to produce is batch `index` of epoch `epoch`. */
export interface BatchPosition {
  epoch: number;
  index: number;
}

export interface BatchOptions {
  /** Rows per batch. */
  B: number;
  /** Tokens per row (the max sequence length). */
  T: number;
  seed: number;
  /** Pack several examples per row (default true) or pad one example per row. */
  packing?: boolean;
  /** Shuffle rows each epoch (default true; turn off for evaluation). */
  shuffle?: boolean;
  /** Examples longer than T: keep the first T tokens (default) or leave them out. */
  overLength?: 'truncate' | 'drop';
  /** Drop a last, incomplete batch instead of filling it with padding rows (default false). */
  dropLast?: boolean;
  /** Token id used for padding (its targets are -100 anyway). Default 0. */
  padId?: number;
  /**
   * Examples 2i and 2i+1 are a preference pair (chosen, rejected): they stay rows 2i and 2i+1 of
   * one batch, in that order, through every shuffle. Needs packing off and an even B.
   */
  pairs?: boolean;
}

/** Open rows first-fit searches when packing; small keeps packing O(n) and the order mostly intact. */
const PACK_WINDOW = 16;

interface Row {
  items: number[]; // indices into the usable example list
  used: number;
}

export class BatchIterator {
  readonly B: number;
  readonly T: number;
  readonly batchesPerEpoch: number;
  /** Rows of examples left out: no trained target within T tokens, or over-long with overLength 'drop'. */
  readonly skippedRows: number[] = [];
  private readonly examples: TokenizedExample[] = [];
  private readonly rowsPlan: Row[] = [];
  private readonly opts: Required<Omit<BatchOptions, 'B' | 'T'>>;
  private epoch = 0;
  private index = 0;
  private epochOrder: Uint32Array | null = null;
  private epochOrderFor = -1;

  constructor(examples: readonly TokenizedExample[], options: BatchOptions, start: BatchPosition = { epoch: 0, index: 0 }) {
    if (!Number.isInteger(options.B) || options.B < 1) throw new RangeError(`B must be a positive integer, got ${options.B}`);
    if (!Number.isInteger(options.T) || options.T < 2) throw new RangeError(`T must be an integer >= 2, got ${options.T}`);
    this.B = options.B;
    this.T = options.T;
    this.opts = {
      seed: options.seed,
      packing: options.packing ?? true,
      shuffle: options.shuffle ?? true,
      overLength: options.overLength ?? 'truncate',
      dropLast: options.dropLast ?? false,
      padId: options.padId ?? 0,
      pairs: options.pairs ?? false,
    };
    if (this.opts.pairs && (this.opts.packing || this.B % 2 !== 0 || examples.length % 2 !== 0)) {
      throw new RangeError(`preference pairs need packing off, an even B and an even number of examples (got packing ${this.opts.packing}, B ${this.B}, ${examples.length} examples)`);
    }
    const skip = (ex: TokenizedExample) => (ex.inputIds.length > this.T && this.opts.overLength === 'drop') || trainedTokens(ex, this.T) === 0;
    const step = this.opts.pairs ? 2 : 1; // a pair is kept or skipped whole
    for (let i = 0; i < examples.length; i += step) {
      const group = examples.slice(i, i + step);
      if (group.some(skip)) this.skippedRows.push(group[0].row);
      else this.examples.push(...group);
    }
    this.planRows();
    const nRows = this.rowsPlan.length;
    this.batchesPerEpoch = this.opts.dropLast ? Math.floor(nRows / this.B) : Math.ceil(nRows / this.B);
    if (this.batchesPerEpoch === 0) throw new RangeError(`no complete batch: ${nRows} rows of training data for B=${this.B}`);
    this.seek(start);
  }

  private lengthOf(i: number): number {
    return Math.min(this.examples[i].inputIds.length, this.T);
  }

  private planRows(): void {
    const n = this.examples.length;
    if (!this.opts.packing) {
      for (let i = 0; i < n; i++) this.rowsPlan.push({ items: [i], used: this.lengthOf(i) });
      return;
    }
    const order = this.opts.shuffle ? shuffledIndices(n, mixSeed(this.opts.seed, 0x9ac4)) : Uint32Array.from({ length: n }, (_, i) => i);
    const open: Row[] = [];
    for (const i of order) {
      const len = this.lengthOf(i);
      let row = open.find((r) => r.used + len <= this.T);
      if (!row) {
        row = { items: [], used: 0 };
        this.rowsPlan.push(row);
        open.push(row);
        if (open.length > PACK_WINDOW) open.shift();
      }
      row.items.push(i);
      row.used += len;
    }
  }

  /** The position of the next batch (save it with a checkpoint). */
  get position(): BatchPosition {
    return { epoch: this.epoch, index: this.index };
  }

  /** Continues from a saved position. */
  seek(pos: BatchPosition): void {
    if (!Number.isInteger(pos.epoch) || pos.epoch < 0 || !Number.isInteger(pos.index) || pos.index < 0 || pos.index > this.batchesPerEpoch) {
      throw new RangeError(`invalid batch position ${JSON.stringify(pos)} (batches per epoch: ${this.batchesPerEpoch})`);
    }
    this.epoch = pos.epoch;
    this.index = pos.index;
    if (this.index === this.batchesPerEpoch) {
      this.epoch++;
      this.index = 0;
    }
  }

  /** Number of rows (packed sequences or single examples) per epoch. */
  get rowsPerEpoch(): number {
    return this.rowsPlan.length;
  }

  private rowOrder(epoch: number): Uint32Array {
    if (this.epochOrderFor !== epoch || !this.epochOrder) {
      const n = this.rowsPlan.length;
      if (this.opts.pairs) {
        const pairs = this.opts.shuffle ? shuffledIndices(n / 2, mixSeed(this.opts.seed, epoch)) : Uint32Array.from({ length: n / 2 }, (_, i) => i);
        this.epochOrder = Uint32Array.from({ length: n }, (_, r) => 2 * pairs[r >> 1] + (r & 1));
      } else {
        this.epochOrder = this.opts.shuffle ? shuffledIndices(n, mixSeed(this.opts.seed, epoch)) : Uint32Array.from({ length: n }, (_, i) => i);
      }
      this.epochOrderFor = epoch;
    }
    return this.epochOrder;
  }

  /** Batch `index` of `epoch`, without moving the iterator. */
  batchAt(epoch: number, index: number): Batch {
    if (index < 0 || index >= this.batchesPerEpoch) throw new RangeError(`batch index ${index} out of range 0..${this.batchesPerEpoch - 1}`);
    const { B, T } = this;
    const order = this.rowOrder(epoch);
    const inputIds = new Uint32Array(B * T).fill(this.opts.padId);
    const targets = new Int32Array(B * T).fill(IGNORE_INDEX);
    const positions = new Uint32Array(B * T);
    const segmentIds = new Uint32Array(B * T);
    const rows: number[] = [];
    let numTargets = 0;
    for (let b = 0; b < B; b++) {
      const r = index * B + b;
      if (r >= order.length) break; // a padding row in the last batch
      let o = b * T;
      this.rowsPlan[order[r]].items.forEach((i, k) => {
        const ex = this.examples[i];
        const len = this.lengthOf(i);
        rows.push(ex.row);
        for (let t = 0; t < len; t++) {
          inputIds[o + t] = ex.inputIds[t];
          positions[o + t] = t;
          segmentIds[o + t] = k + 1;
          const target = t + 1 < len ? ex.labels[t + 1] : IGNORE_INDEX;
          targets[o + t] = target;
          if (target !== IGNORE_INDEX) numTargets++;
        }
        o += len;
      });
    }
    return { inputIds, targets, positions, segmentIds, B, T, numTargets, epoch, index, rows };
  }

  /** The next batch; moves on to the next epoch after the last batch of one. */
  next(): Batch {
    const batch = this.batchAt(this.epoch, this.index);
    this.index++;
    if (this.index === this.batchesPerEpoch) {
      this.epoch++;
      this.index = 0;
    }
    return batch;
  }

  /** All batches of one epoch, in order (e.g. a validation pass). Does not move the iterator. */
  *epochBatches(epoch = 0): Generator<Batch> {
    for (let i = 0; i < this.batchesPerEpoch; i++) yield this.batchAt(epoch, i);
  }
}
