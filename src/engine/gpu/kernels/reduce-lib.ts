// Picks the block-reduction helpers (blockSum/blockMax) that row-reducing kernels are
// compiled with: the subgroup fast path when the device granted `subgroups`, the
// workgroup-memory tree otherwise. The helper file goes first so `enable subgroups;`
// stays at the top of the module.
import workgroupLib from '../../../../shaders/reduce_lib_workgroup.wgsl?raw';
import subgroupLib from '../../../../shaders/reduce_lib_subgroup.wgsl?raw';
import type { GpuContext } from '../context';

/** Workgroup size of every row-reducing kernel: a power of two within the default 256 invocations. */
export const REDUCE_WG = 256;

/** `kernel` source prefixed with the reduction helpers that suit `ctx`. */
export function withReduceLib(ctx: GpuContext, kernel: string): string {
  return (ctx.caps.subgroups ? subgroupLib : workgroupLib) + '\n' + kernel;
}
