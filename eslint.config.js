// Lint, including the import rules of DESIGN.md: the layer graph below is written once, as a
// table of what each layer of src/ may import; lint/layers.js resolves every import and checks
// it against that table (one rule block per layer, generated from the table).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import layers from './lint/layers.js';

const TESTS = ['**/*.test.ts', '**/*.testutil.ts'];

/**
 * engine/ modules that are file formats, pure functions over bytes (DESIGN.md), usable below the
 * engine's GPU code. The GGUF reader (container, ggml blocks, base model) and the model-folder
 * opener are among them: hub/ opens a picked .gguf with its tokenizer files through them.
 */
const FORMATS = ['engine/model/config', 'engine/model/dtype', 'engine/model/json', 'engine/model/safetensors', 'engine/model/quant', 'engine/model/gguf-format', 'engine/model/gguf-model', 'engine/model/model-files', 'engine/model/bos-token', 'engine/model/weight-storage'];
/** The worker's API surface for the UI thread: the typed client and the pure declarations it shows (settings, model presets, the lost-model notice). */
const WORKER_API = ['worker/client', 'worker/settings', 'worker/presets', 'worker/model-availability'];
/** What stores may read from the database; every write goes through the worker, the single writer. */
const PERSIST_READS = { 'persist/repo': ['listRuns', 'getRun', 'getMetrics', 'getSamples', 'listAdapters', 'listDatasets', 'listEvaluations'] };

/**
 * The layer graph. allow: layers (or single modules) a layer may import besides itself;
 * types: layers it may import types from (erased, so no code crosses); names: modules it may
 * import only some names from; packages: npm packages it may use ('*': any); node: Node
 * builtins allowed (true), only in files named node-*.ts / *.node.ts, or never (default).
 */
const LAYERS = {
  engine: { why: 'framework-free; it takes a GPUDevice from its caller', allow: ['shaders'], packages: [], node: 'node-files' },
  data: { why: 'pure functions over bytes, testable in Node', allow: [...FORMATS, 'engine/optim/rng'], packages: ['@huggingface/transformers', 'hyparquet', 'papaparse'] },
  // The one adapter loader builds LoRA tensors on the caller's GPUDevice, so adapters/ may use engine/ (still no DOM, idb or fs).
  adapters: { why: 'file formats and the adapter loader, no DOM, storage or fs', allow: ['engine'], packages: [] },
  train: { why: 'the one training loop, driven by the worker and the CLI', allow: ['engine', 'data', 'adapters'], packages: [] },
  eval: { why: 'pure metrics and verdicts, run by the worker and the CLI', allow: ['data'], packages: [] },
  hub: { why: 'downloads and caches model files', allow: FORMATS, packages: [] },
  // train/settings is the settings declaration (pure data): stored runs are read with its defaults.
  persist: { why: 'below the worker and the stores', allow: ['train/settings'], types: ['data', 'train', 'eval'], packages: ['idb'] },
  // persist/secrets: the Hub token the user types, in its own database; the worker gets it per call, never reads it.
  store: { why: 'UI state: talks to the worker API and reads persist/', allow: ['persist/records', 'persist/lifecycle', 'persist/secrets', ...WORKER_API], names: PERSIST_READS, types: ['worker'] },
  worker: { why: 'owns the GPU and the database writes', allow: ['engine', 'data', 'adapters', 'train', 'eval', 'hub', 'persist'] },
  ui: { why: 'talks to the worker API and reads stores; heavy work never runs on the UI thread', allow: ['store', ...WORKER_API, 'persist/lifecycle'], types: ['worker', 'persist'] },
  // IndexedDB (persist/) and the UI thread do not exist in Node.
  cli: { why: 'the same engine in Node', allow: ['engine', 'data', 'adapters', 'train', 'eval', 'hub'], node: true },
};

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
    rules: reactHooks.configs.recommended.rules,
  },
  // The import rules are about what ships; tests may reach across layers for fixtures.
  ...Object.entries(LAYERS).map(([layer, rules]) => ({
    files: [`src/${layer}/**/*.{ts,tsx}`],
    ignores: TESTS,
    plugins: { layers },
    rules: { 'layers/imports': ['error', { layer, ...rules }] },
  })),
);
