import { defineConfig } from 'vitest/config';

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
