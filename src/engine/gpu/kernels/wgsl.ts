// Kernel sources are composed, never copied: one WGSL file per kernel, plus the small
// libraries in shaders/lib/ that its launcher prepends (weight readers, hash/dropout, segment
// scans, the tiled GEMM core, block reductions). WGSL resolves module-scope names in any
// order, so a library may call a function its kernel defines (the GEMM core's gemmA/gemmB)
// and a kernel may declare a binding of a library's type (array<WeightStore>).
import attentionKeyRowsLib from '../../../../shaders/lib/attention_key_rows.wgsl?raw';
import attentionRowsLib from '../../../../shaders/lib/attention_rows.wgsl?raw';
import attentionTilesLib from '../../../../shaders/lib/attention_tiles.wgsl?raw';
import attentionTilesBackwardLib from '../../../../shaders/lib/attention_tiles_backward.wgsl?raw';
import gatedActLib from '../../../../shaders/lib/gated_act.wgsl?raw';
import gemmLib from '../../../../shaders/lib/gemm.wgsl?raw';
import gemmStoreLib from '../../../../shaders/lib/gemm_store.wgsl?raw';
import hashLib from '../../../../shaders/lib/hash.wgsl?raw';
import rowReadsSubgroupLib from '../../../../shaders/lib/row_reads_subgroup.wgsl?raw';
import rowReadsWorkgroupLib from '../../../../shaders/lib/row_reads_workgroup.wgsl?raw';
import segmentsLib from '../../../../shaders/lib/segments.wgsl?raw';
import windowLib from '../../../../shaders/lib/window.wgsl?raw';

/** The helper libraries a launcher may prepend (the weight readers are in weights.ts, the reductions in reduce-lib.ts). */
export const WGSL_LIB = {
  attentionKeyRows: attentionKeyRowsLib,
  attentionRows: attentionRowsLib,
  attentionTiles: attentionTilesLib,
  attentionTilesBackward: attentionTilesBackwardLib,
  gatedAct: gatedActLib,
  gemm: gemmLib, gemmStore: gemmStoreLib, hash: hashLib,
  rowReadsSubgroup: rowReadsSubgroupLib,
  rowReadsWorkgroup: rowReadsWorkgroupLib,
  segments: segmentsLib,
  window: windowLib,
} as const;

// `enable` directives must come before every declaration of a module.
const ENABLE = /^[ \t]*enable[ \t]+[^;\n]+;[ \t]*\r?\n?/gm;

/** `src` without its `enable` directives: the text a composed module holds of it. */
export function withoutEnables(src: string): string {
  return src.replace(ENABLE, '');
}

interface Node {
  next: Map<string, Node>;
  code?: string;
}
const composed: Node = { next: new Map() };

/**
 * `libs` then `main` as one module, the `enable` directives of all parts gathered at the top.
 * Memoized on the parts (launchers call this per dispatch): the same inputs return the very
 * same string, so the pipeline cache's lookup by source stays a hash of an already-hashed string.
 */
export function composeShader(libs: readonly string[], main: string): string {
  let node = composed;
  for (const part of [...libs, main]) {
    let child = node.next.get(part);
    if (!child) {
      child = { next: new Map() };
      node.next.set(part, child);
    }
    node = child;
  }
  if (node.code === undefined) {
    const parts = [...libs, main];
    const enables = [...new Set(parts.flatMap((s) => (s.match(ENABLE) ?? []).map((d) => d.trim())))];
    node.code = [...enables, ...parts.map(withoutEnables)].join('\n');
  }
  return node.code;
}
