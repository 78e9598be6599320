// Workgroup grid helpers: split a 1-D count of workgroups into x·y so neither exceeds the
// per-dimension limit (65535 by default); kernels rebuild the flat index from both.

export function grid1d(workgroups: number, maxPerDim = 65535): [number, number] {
  if (workgroups <= maxPerDim) return [workgroups, 1];
  const y = Math.ceil(workgroups / maxPerDim);
  return [Math.ceil(workgroups / y), y];
}

export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
