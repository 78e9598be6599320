// Lint, including the import rules of DESIGN.md:
// - engine/ imports only shaders/ and itself (no React, DOM app code, data/, train/, ...);
// - ui/ never imports engine/, train/ or hub/ directly: it talks to the worker API and stores;
// - data/ and adapters/ are pure functions (no React, no UI);
// - eval/ is pure too (metrics, aggregation, verdicts): it may read data/, never the engine,
//   the DOM app or Node builtins, so the worker and the CLI run the same code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const TESTS = ['**/*.test.ts', '**/*.testutil.ts'];
const outside = (dirs) => dirs.flatMap((d) => [`**/${d}/**`, `**/${d}`]);

export default tseslint.config(
  { ignores: ['dist/**', 'dist-cli/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'e2e/artifacts/**', 'public/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/ui/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': ['error', { patterns: [{ group: outside(['engine', 'train', 'hub', 'cli']), message: 'ui/ talks to the worker API and stores, never to engine/, train/ or hub/ directly (DESIGN.md).' }] }],
    },
  },
  {
    // The import rules are about what ships; tests may reach across layers for fixtures.
    files: ['src/engine/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['react', 'react-dom', 'zustand', 'idb', 'comlink'].map((name) => ({ name, message: 'engine/ is framework-free (DESIGN.md).' })),
          patterns: [{ group: outside(['ui', 'store', 'worker', 'data', 'train', 'hub', 'persist', 'adapters', 'cli']), message: 'engine/ imports only shaders/ and itself (DESIGN.md).' }],
        },
      ],
    },
  },
  {
    files: ['src/data/**/*.ts', 'src/adapters/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['react', 'react-dom', 'zustand', 'idb', 'comlink', 'fs', 'node:fs', 'node:fs/promises', 'fs/promises'].map((name) => ({ name, message: 'data/ and adapters/ are pure functions over bytes (DESIGN.md).' })),
          patterns: [{ group: outside(['ui', 'store', 'worker', 'train', 'persist', 'cli']), message: 'data/ and adapters/ are pure functions over bytes (DESIGN.md).' }],
        },
      ],
    },
  },
  {
    files: ['src/eval/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['react', 'react-dom', 'zustand', 'idb', 'comlink', 'fs', 'fs/promises', 'path', 'os', 'crypto'].map((name) => ({ name, message: 'eval/ is pure functions over texts and scores (DESIGN.md).' })),
          patterns: [
            { group: ['node:*'], message: 'eval/ runs in the browser worker too: no Node builtins.' },
            { group: outside(['engine', 'ui', 'store', 'worker', 'train', 'hub', 'persist', 'adapters', 'cli']), message: 'eval/ imports only data/ and itself (DESIGN.md).' },
          ],
        },
      ],
    },
  },
);
