// The in-browser kernel smoke checks must pass on the Node device too (so a failure in
// Chromium points at the browser, not at the check), and together they must compile every
// file under shaders/ (kernels and the libraries they are composed with): a new kernel without a smoke entry fails here.
import { describe, expect, it } from 'vitest';
import { runKernelSmoke, shaderFiles, shaderRequirement, smokeKernelNames, type SmokeResult } from './smoke';
import { getTestContext } from '../../test/gpu-device';
import { GpuContext } from './gpu/context';

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

  it('on the full-featured device every shaders/ file (kernel or library) is compiled by some check', () => {
    const fast = runs['false'];
    expect(fast, 'the fallback=false run above must have run').toBeDefined();
    expect(coverage(fast).shaders).toEqual(shaderFiles());
    // The workgroup libraries were checked too, by rerunning the kernels that used subgroups without them.
    expect(fast.some((r) => r.kernel.endsWith('[no subgroups]') && r.shaders?.includes('lib/reduce_workgroup.wgsl'))).toBe(true);
    expect(fast.some((r) => r.kernel.endsWith('[no subgroups]') && r.shaders?.includes('lib/row_reads_workgroup.wgsl'))).toBe(true);
  });

  it('on the fallback device everything but the f16/subgroup files is compiled, and the row names them', () => {
    const slow = runs['true'];
    expect(slow, 'the fallback=true run above must have run').toBeDefined();
    const needs = shaderFiles().filter((f) => shaderRequirement(f) !== null);
    expect(needs).toEqual(['lib/reduce_subgroup.wgsl', 'lib/row_reads_subgroup.wgsl', 'lib/weights_f16.wgsl']);
    expect(coverage(slow).shaders).toEqual(shaderFiles().filter((f) => !needs.includes(f)));
    for (const f of needs) expect(coverage(slow).kernel).toContain(f);
  });

  it('on a device whose subgroups no row kernel can read by (width 32), the coverage row passes and names the subgroup row reads as not run', async () => {
    const fast = await getTestContext({});
    const wide = new GpuContext(fast.device, { ...fast.caps, subgroupSizes: { min: 32, max: 32 } });
    const results = await runKernelSmoke(wide);
    const row = coverage(results);
    expect(row.ok, row.error).toBe(true);
    expect(row.kernel).toContain('subgroups of one width dividing 16: lib/row_reads_subgroup.wgsl not run');
    expect(row.shaders).toContain('lib/reduce_subgroup.wgsl');
    expect(row.shaders).not.toContain('lib/row_reads_subgroup.wgsl');
  }, 120_000);

  it('each check compiles exactly the kernels it is named for (so every shader is proven against its reference by a named check)', () => {
    const fast = runs['false'];
    expect(fast, 'the fallback=false run above must have run').toBeDefined();
    const compiled = Object.fromEntries(fast.filter((r) => !r.kernel.startsWith('shader coverage')).map((r) => [r.kernel, r.shaders]));
    expect(compiled).toEqual({
      residual_forward: ['residual_forward.wgsl'],
      'rmsnorm_forward+backward': ['lib/reduce_subgroup.wgsl', 'lib/reduce_tree.wgsl', 'rmsnorm_backward.wgsl', 'rmsnorm_forward.wgsl'],
      'rope_forward+backward': ['rope_forward.wgsl'],
      'swiglu_forward+backward': ['lib/gated_act.wgsl', 'swiglu_backward.wgsl', 'swiglu_forward.wgsl'],
      'swiglu_forward+backward (GeGLU: gelu_tanh)': ['lib/gated_act.wgsl', 'swiglu_backward.wgsl', 'swiglu_forward.wgsl'],
      'swiglu_backward_inplace (GeGLU: gelu_tanh)': ['lib/gated_act.wgsl', 'swiglu_backward_inplace.wgsl'],
      'embedding_forward (range split)': ['embedding_forward.wgsl', 'lib/weights_f32.wgsl'],
      'crossentropy_forward+reduce_sum': ['crossentropy_forward.wgsl', 'lib/loss_scale_uniform.wgsl', 'lib/reduce_subgroup.wgsl', 'lib/reduce_tree.wgsl', 'reduce_sum.wgsl'],
      'preference_weights+crossentropy_forward (row weights)': ['crossentropy_forward.wgsl', 'lib/loss_scale_rows.wgsl', 'lib/loss_scale_uniform.wgsl', 'lib/reduce_subgroup.wgsl', 'lib/reduce_tree.wgsl', 'preference_weights.wgsl'],
      'global_norm+adamw': ['adamw.wgsl', 'global_norm_finalize.wgsl', 'global_norm_partial.wgsl', 'lib/reduce_subgroup.wgsl', 'lib/reduce_tree.wgsl'],
      residual_backward: ['residual_backward.wgsl'],
      'cast (bf16/f16 to f32, f32 to f16)': ['cast_f32_to_f16.wgsl', 'cast_to_f32.wgsl'],
      'matmul_forward+backward (f32 weights)': ['lib/gemm.wgsl', 'lib/gemm_store.wgsl', 'lib/hash.wgsl', 'lib/weights_f32.wgsl', 'matmul_backward.wgsl', 'matmul_forward.wgsl'],
      'matmul_forward+backward (f16 weights)': ['lib/gemm.wgsl', 'lib/gemm_store.wgsl', 'lib/hash.wgsl', 'lib/weights_f16.wgsl', 'matmul_backward.wgsl', 'matmul_forward.wgsl'],
      'matmul_forward+backward, embedding_forward (Q8_0, Q4_0, Q4_K, Q6_K weights)': [
        'embedding_forward.wgsl', 'lib/gemm.wgsl', 'lib/gemm_store.wgsl', 'lib/hash.wgsl', 'lib/weights_blocks.wgsl',
        'lib/weights_q4_0.wgsl', 'lib/weights_q4_k.wgsl', 'lib/weights_q6_k.wgsl', 'lib/weights_q8_0.wgsl', 'matmul_backward.wgsl', 'matmul_forward.wgsl',
      ],
      'lora_forward+backward (dropout 0.1)': ['lib/gemm.wgsl', 'lib/gemm_store.wgsl', 'lib/hash.wgsl', 'lib/weights_f32.wgsl', 'lora_backward.wgsl', 'matmul_backward.wgsl', 'matmul_forward.wgsl'],
      'attention_forward+backward (GQA, segments)': ['attention_backward_dkdv_rows.wgsl', 'attention_backward_dq_rows.wgsl', 'attention_backward_stats.wgsl', 'attention_forward_rows.wgsl', 'lib/attention_key_rows.wgsl', 'lib/attention_rows.wgsl', 'lib/row_reads_subgroup.wgsl', 'lib/segments.wgsl', 'lib/window.wgsl'],
      'attention_forward+backward (sliding window, scale)': ['attention_backward_dkdv_rows.wgsl', 'attention_backward_dq_rows.wgsl', 'attention_backward_stats.wgsl', 'attention_forward_rows.wgsl', 'lib/attention_key_rows.wgsl', 'lib/attention_rows.wgsl', 'lib/row_reads_subgroup.wgsl', 'lib/segments.wgsl', 'lib/window.wgsl'],
      'attention_forward+backward (GQA, segments, tile kernels: D % 4 != 0)': ['attention_backward_dkdv.wgsl', 'attention_backward_dq.wgsl', 'attention_backward_stats.wgsl', 'attention_forward.wgsl', 'lib/attention_tiles.wgsl', 'lib/attention_tiles_backward.wgsl', 'lib/segments.wgsl', 'lib/window.wgsl'],
      'attention_forward+backward (sliding window, scale, tile kernels)': ['attention_backward_dkdv.wgsl', 'attention_backward_dq.wgsl', 'attention_backward_stats.wgsl', 'attention_forward.wgsl', 'lib/attention_tiles.wgsl', 'lib/attention_tiles_backward.wgsl', 'lib/segments.wgsl', 'lib/window.wgsl'],
      'kv_cache_append+attention_decode (2 chunks)': ['attention_decode.wgsl', 'attention_decode_combine.wgsl', 'kv_cache_append.wgsl', 'lib/window.wgsl'],
      'kv_cache_append+attention_decode (2 chunks, sliding window)': ['attention_decode.wgsl', 'attention_decode_combine.wgsl', 'kv_cache_append.wgsl', 'lib/window.wgsl'],
      'sample_argmax+topk+topp': ['sample_argmax.wgsl', 'sample_topk.wgsl', 'sample_topp.wgsl'],
      'embedding_forward (f16 table)': ['embedding_forward.wgsl', 'lib/weights_f16.wgsl'],
      'scale_accumulate (addInPlace)': ['scale_accumulate.wgsl'],
      'rmsnorm_forward+backward [no subgroups]': ['lib/reduce_tree.wgsl', 'lib/reduce_workgroup.wgsl', 'rmsnorm_backward.wgsl', 'rmsnorm_forward.wgsl'],
      'crossentropy_forward+reduce_sum [no subgroups]': ['crossentropy_forward.wgsl', 'lib/loss_scale_uniform.wgsl', 'lib/reduce_tree.wgsl', 'lib/reduce_workgroup.wgsl', 'reduce_sum.wgsl'],
      'preference_weights+crossentropy_forward (row weights) [no subgroups]': ['crossentropy_forward.wgsl', 'lib/loss_scale_rows.wgsl', 'lib/loss_scale_uniform.wgsl', 'lib/reduce_tree.wgsl', 'lib/reduce_workgroup.wgsl', 'preference_weights.wgsl'],
      'global_norm+adamw [no subgroups]': ['adamw.wgsl', 'global_norm_finalize.wgsl', 'global_norm_partial.wgsl', 'lib/reduce_tree.wgsl', 'lib/reduce_workgroup.wgsl'],
      'attention_forward+backward (GQA, segments) [no subgroups]': ['attention_backward_dkdv_rows.wgsl', 'attention_backward_dq_rows.wgsl', 'attention_backward_stats.wgsl', 'attention_forward_rows.wgsl', 'lib/attention_key_rows.wgsl', 'lib/attention_rows.wgsl', 'lib/row_reads_workgroup.wgsl', 'lib/segments.wgsl', 'lib/window.wgsl'],
      'attention_forward+backward (sliding window, scale) [no subgroups]': ['attention_backward_dkdv_rows.wgsl', 'attention_backward_dq_rows.wgsl', 'attention_backward_stats.wgsl', 'attention_forward_rows.wgsl', 'lib/attention_key_rows.wgsl', 'lib/attention_rows.wgsl', 'lib/row_reads_workgroup.wgsl', 'lib/segments.wgsl', 'lib/window.wgsl'],
    });
  });
});
