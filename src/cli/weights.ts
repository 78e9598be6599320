// --weights auto|f32|f16|q8|q4: the flag, its help, and the line that says what was picked and why.
import { WEIGHT_STORAGES, chooseWeightStorage, type StorageChoice, type WeightFit, type WeightsFlag } from '../engine/model/weights';
import type { FloatDtype } from '../engine/model/dtype';
import { str, type Values } from './args';
import { CliError } from './model-dir';

export type { WeightsFlag };

const FLAGS: readonly WeightsFlag[] = ['auto', ...WEIGHT_STORAGES];

export const WEIGHTS_HELP =
  '--weights auto|f32|f16|q8|q4 (auto: the most precise of f32, f16 (with shader-f16), q8, q4 whose memory plan fits the GPU adapter\'s buffer limits and 2 GiB; f32 matches PyTorch; ' +
  'q8/q4: frozen base quantized on load to GGUF Q8_0 / Q4_0 (embedding and LM head Q8_0), LoRA stays f32 — QLoRA; a GGUF base keeps its own quantized tensors)';

export function weightsFlag(v: Values): WeightsFlag {
  const w = str(v, 'weights', 'auto');
  if (!FLAGS.includes(w as WeightsFlag)) throw new CliError(`--weights ${w}: expected ${FLAGS.slice(0, -1).join(', ')} or ${FLAGS.at(-1)}`);
  return w as WeightsFlag;
}

/** What `flag` picks on an adapter with or without shader-f16 for a job whose memory `fit` weighs, as one line for the user. */
export function chooseWeights(flag: WeightsFlag, hasF16: boolean, modelDtype: FloatDtype, fit: WeightFit): StorageChoice & { line: string } {
  let c: StorageChoice;
  try {
    c = chooseWeightStorage(flag, hasF16, modelDtype, fit);
  } catch (e) {
    throw new CliError(`--weights ${flag}: ${(e as Error).message}`);
  }
  return { ...c, line: `weights: ${c.storage} (${c.reason})` };
}
