// The in-browser smoke checks of the element-wise kernels must also pass on the Node device,
// so a failure in Chromium points at the browser, not at the check.
import { expect, it } from 'vitest';
import { runKernelSmoke } from './smoke';
import { elementwiseSmokeChecks } from './smoke-elementwise';
import { getTestContext } from '../../test/gpu-device';

for (const fallback of [false, true]) {
  it(`element-wise smoke checks pass in Node (fallback=${fallback})`, async () => {
    const ctx = await getTestContext({ fallback });
    const mine = new Set(elementwiseSmokeChecks.map((c) => c.kernel));
    const results = (await runKernelSmoke(ctx)).filter((r) => mine.has(r.kernel));
    expect(results.length).toBe(mine.size);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
}
