// The weight formats the frozen base can be stored in (pure data, so the UI can list them
// through the worker API without pulling GPU code into its bundle).
export type WeightStorage = 'f32' | 'f16' | 'q8' | 'q4';
/** Most precise first: the order 'auto' tries them in. */
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['f32', 'f16', 'q8', 'q4'];
/** A storage, or 'auto' (chooseWeightStorage decides): CLI --weights and the studio's Model screen. */
export type WeightsFlag = WeightStorage | 'auto';
