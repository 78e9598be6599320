// Picks the block-reduction helpers (blockSum/blockMax) that row-reducing kernels are
// compiled with: the subgroup fast path when the device granted `subgroups`, the
// workgroup-memory tree otherwise.
import treeLib from '../../../../shaders/lib/reduce_tree.wgsl?raw';
import workgroupLib from '../../../../shaders/lib/reduce_workgroup.wgsl?raw';
import subgroupLib from '../../../../shaders/lib/reduce_subgroup.wgsl?raw';
import type { GpuContext } from '../context';
import { composeShader } from './wgsl';

/** Workgroup size of every row-reducing kernel: a power of two within the default 256 invocations. */
export const REDUCE_WG = 256;

/** `kernel` source composed with the reduction helpers that suit `ctx`. */
export function withReduceLib(ctx: GpuContext, kernel: string): string {
  return composeShader([treeLib, ctx.caps.subgroups ? subgroupLib : workgroupLib], kernel);
}
