// The in-browser kernel smoke checks must pass on the Node device too (so a failure in
// Chromium points at the browser, not at the check), and together they must compile every
// shaders/*.wgsl file: a new kernel without a smoke entry fails here.
import { describe, expect, it } from 'vitest';
import { runKernelSmoke, shaderFiles, shaderRequirement, smokeKernelNames, type SmokeResult } from './smoke';
import { getTestContext } from '../../test/gpu-device';

const coverage = (rs: SmokeResult[]) => rs.find((r) => r.kernel.startsWith('shader coverage'))!;
const runs: Record<string, SmokeResult[]> = {};

describe('kernel smoke checks on Dawn (Node)', () => {
  for (const fallback of [false, true]) {
    it(`every check passes (fallback=${fallback})`, async () => {
      const ctx = await getTestContext({ fallback });
      const results = await runKernelSmoke(ctx);
      runs[String(fallback)] = results;
      expect(results.filter((r) => !r.ok).map((r) => `${r.kernel}: ${r.error ?? `max error ${r.maxAbsErr}`}`)).toEqual([]);
      const ran = results.map((r) => r.kernel);
      // Every entry ran (f16 entries only where the device has shader-f16), plus the coverage row.
      expect(smokeKernelNames(ctx.caps).length).toBe(smokeKernelNames().length - (fallback ? 2 : 0)); // the two f16-weight checks
      for (const name of smokeKernelNames(ctx.caps)) expect(ran, name).toContain(name);
      // Each check compiled at least one shader file (the coverage attribution works).
      for (const r of results) expect(r.shaders?.length, r.kernel).toBeGreaterThan(0);
    }, 120_000);
  }

  it('on the full-featured device every shaders/*.wgsl file is compiled by some check', () => {
    const fast = runs['false'];
    expect(fast, 'the fallback=false run above must have run').toBeDefined();
    expect(coverage(fast).shaders).toEqual(shaderFiles());
    // The workgroup reduction library was checked too, by rerunning the reducing kernels without subgroups.
    expect(fast.some((r) => r.kernel.endsWith('[workgroup reduce]') && r.shaders?.includes('reduce_lib_workgroup.wgsl'))).toBe(true);
  });

  it('on the fallback device everything but the f16/subgroup files is compiled, and the row names them', () => {
    const slow = runs['true'];
    expect(slow, 'the fallback=true run above must have run').toBeDefined();
    const needs = shaderFiles().filter((f) => shaderRequirement(f) !== null);
    expect(needs).toEqual(['embedding_forward_f16.wgsl', 'matmul_backward_f16.wgsl', 'matmul_forward_f16.wgsl', 'reduce_lib_subgroup.wgsl']);
    expect(coverage(slow).shaders).toEqual(shaderFiles().filter((f) => !needs.includes(f)));
    for (const f of needs) expect(coverage(slow).kernel).toContain(f);
  });
});
