// The sequence length a model can train at: positions past its max_position_embeddings were
// never trained (RoPE past them extrapolates), so a longer setting is refused before any work
// starts, and the default is capped to the model. One decision for the Train screen, the Data
// screen's truncation counts, `inspect`, `train` and TrainingSession.
import { parseModelConfig } from '../engine/model/config';
import { DEFAULT_SETTINGS } from './settings';

export interface SeqLenAdvice {
  /** The model's max_position_embeddings, or null when its config.json is not known. */
  maxPositions: number | null;
  /** What the setting defaults to for this model: the usual default, capped by the model. */
  suggested: number;
  /** The length token counts use: the setting, capped by the model. */
  effective: number;
  /** Why the setting cannot be used with this model (training refuses it), or null. */
  error: string | null;
  /** Why the default for this model is below the usual one, or null. */
  note: string | null;
}

/** Why `seqLen` cannot be trained on a model with `maxPositions` positions, or null. */
export function seqLenProblem(seqLen: number, maxPositions: number): string | null {
  return seqLen > maxPositions
    ? `sequence length ${seqLen} is longer than this model's max_position_embeddings (${maxPositions}); positions past it were never trained, so use ${maxPositions} or less`
    : null;
}

export function adviseSeqLen(seqLen: number, maxPositions: number | null): SeqLenAdvice {
  const usual = DEFAULT_SETTINGS.seqLen;
  if (maxPositions === null) return { maxPositions, suggested: usual, effective: seqLen, error: null, note: null };
  return {
    maxPositions,
    suggested: Math.min(usual, maxPositions),
    effective: Number.isFinite(seqLen) ? Math.min(seqLen, maxPositions) : seqLen,
    error: seqLenProblem(seqLen, maxPositions),
    note: maxPositions < usual ? `This model takes at most ${maxPositions} tokens (max_position_embeddings), so the sequence length defaults to ${maxPositions} instead of ${usual}.` : `This model takes at most ${maxPositions} tokens (max_position_embeddings).`,
  };
}

/** The length to use: the one asked for (with its problem, if any), or the default for the model when none was asked. */
export function chooseSeqLen(asked: number | undefined, maxPositions: number | null): { seqLen: number; error: string | null } {
  const a = adviseSeqLen(asked ?? DEFAULT_SETTINGS.seqLen, maxPositions);
  return asked === undefined ? { seqLen: a.suggested, error: null } : { seqLen: asked, error: a.error };
}

/** max_position_embeddings of a config.json, or null when there is none or it does not parse. */
export function maxPositionsOf(configJson: unknown): number | null {
  if (configJson == null) return null;
  try {
    return parseModelConfig(configJson).maxPositionEmbeddings;
  } catch {
    return null; // an unparseable config is reported where the model is chosen
  }
}
