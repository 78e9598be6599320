import { defineConfig } from 'vite';

// The CLI is built with Vite so that WGSL files import with `?raw` exactly as in the browser.
export default defineConfig({
  // The app's public/ (icons, sample data) is not part of the CLI.
  publicDir: false,
  build: {
    ssr: 'src/cli/main.ts',
    outDir: 'dist-cli',
    target: 'node20',
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: { output: { entryFileNames: 'cli.js', format: 'es' } },
  },
  ssr: { target: 'node' },
});
