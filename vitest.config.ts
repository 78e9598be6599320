import { defineConfig } from 'vitest/config';
import { stripDawnNotices } from './bin/dawn-notices.mjs';

// GPU test workers print Dawn's adapter-limit notices (see bin/dawn-notices.mjs) from native code
// to their stderr, which vitest pipes into this process's: drop them there, pass the rest as is.
const writeStderr = process.stderr.write.bind(process.stderr) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  const kept = stripDawnNotices(text);
  return writeStderr(kept === text ? chunk : kept, ...rest);
}) as typeof process.stderr.write;

// Two tiers: `unit` (pure TypeScript in Node) and `gpu` (WebGPU through Dawn on lavapipe).
// GPU test files end in .gpu.test.ts. e2e specs (Playwright) live in e2e/ and are not vitest's.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.gpu.test.ts', 'node_modules/**'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'gpu',
          include: ['src/**/*.gpu.test.ts', 'test/**/*.gpu.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Software Vulkan uses every core; running GPU files in parallel only thrashes.
          fileParallelism: false,
        },
      },
    ],
  },
});
