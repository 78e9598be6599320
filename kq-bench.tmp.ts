import { quantize } from './src/engine/model/quant';
const x = Float32Array.from({ length: 1 << 20 }, () => Math.random() - 0.5);
for (const t of ['Q4_K', 'Q6_K', 'Q8_0'] as const) { const t0 = performance.now(); quantize(t, x, 256); console.log(t, ((performance.now() - t0) / (1 << 20) * 1e3).toFixed(3), 'ns/value'); }
