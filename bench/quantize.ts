// `npm run bench -- --quant`: the CPU quantizers (what the merged GGUF export and quantize-on-load
// run), µs per value for each block type on a seeded weight-like tensor of 512 × 1024 values
// (normal-ish, σ ≈ 0.017, a few 10× outliers); median of --reps after --warmup runs. No device.
import { rng } from '../test/numeric';
import { QUANT_TYPES, quantize } from '../src/engine/model/quant';
import type { BenchArgs } from './run';

export function runQuantizeBench(args: BenchArgs): void {
  const r = rng(1);
  const rowLength = 1024;
  const x = Float32Array.from({ length: (args.quick ? 64 : 512) * rowLength }, () => (r() + r() + r() + r() - 2) * 0.03 * (r() < 0.002 ? 10 : 1));
  console.log(`quantizers: ${x.length} values (rows of ${rowLength}), median of ${args.reps} after ${args.warmup} warmup`);
  for (const type of QUANT_TYPES) {
    const times: number[] = [];
    for (let k = 0; k < args.warmup + args.reps; k++) {
      const t0 = performance.now();
      quantize(type, x, rowLength);
      if (k >= args.warmup) times.push(((performance.now() - t0) * 1000) / x.length);
    }
    times.sort((a, b) => a - b);
    console.log(`  ${type.padEnd(5)} ${times[times.length >> 1].toFixed(3)} µs/value (runs: ${times.map((t) => t.toFixed(3)).join(' ')})`);
  }
}
