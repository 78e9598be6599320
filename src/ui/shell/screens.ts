// The studio's screens, in the order a user walks through them.
export const SCREENS = [
  { id: 'advisor', label: 'Should I fine-tune?', short: 'Advisor' },
  { id: 'data', label: 'Dataset', short: 'Data' },
  { id: 'model', label: 'Base model', short: 'Model' },
  { id: 'train', label: 'Train', short: 'Train' },
  { id: 'playground', label: 'Playground', short: 'Playground' },
  { id: 'evaluate', label: 'Evaluate: does the tune beat the prompt?', short: 'Evaluate' },
  { id: 'adapters', label: 'Runs & adapters', short: 'Runs' },
  { id: 'gpu', label: 'GPU', short: 'GPU' },
] as const;

export type ScreenId = (typeof SCREENS)[number]['id'];

export function screenFromHash(hash: string): ScreenId {
  const id = hash.replace(/^#\/?/, '');
  return (SCREENS.find((s) => s.id === id)?.id ?? 'advisor') as ScreenId;
}
