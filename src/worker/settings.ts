// The UI reaches training settings through the worker's API layer (ui/ may not import train/).
export * from '../train/settings';
export * from '../train/seq-len';
