import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';

// ---- Privacy: what the page may load and talk to ----
// Network access is limited to the app's own origin and the Hugging Face Hub (model
// downloads; the Hub redirects file downloads to its CDNs on *.huggingface.co / *.hf.co).
// No third-party scripts, styles, fonts or analytics: everything else is 'self'.
// Tests never widen this: e2e specs intercept https://huggingface.co in the browser and
// answer from the mock Hub, so the built app is the one users get.
export const HUB_ORIGINS = ['https://huggingface.co', 'https://*.huggingface.co', 'https://*.hf.co'];

export function contentSecurityPolicy({ forHeader }: { forHeader: boolean }): string {
  const directives: Record<string, string[]> = {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:', 'blob:'],
    'font-src': ["'self'"],
    'connect-src': ["'self'", ...HUB_ORIGINS],
    'worker-src': ["'self'", 'blob:'],
    'manifest-src': ["'self'"],
    'media-src': ["'none'"],
    'frame-src': ["'none'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
  };
  // frame-ancestors is ignored (with a console warning) in a <meta> policy: headers only.
  if (forHeader) directives['frame-ancestors'] = ["'none'"];
  return Object.entries(directives)
    .map(([k, v]) => `${k} ${v.join(' ')}`)
    .join('; ');
}

/**
 * Puts the policy in the built index.html as a <meta> tag, so it holds on any static host.
 * Build only: the dev server's hot reload needs inline scripts and a websocket.
 */
function cspMetaTag(): Plugin {
  return {
    name: 'lora-studio-csp-meta',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      // Right after <meta charset>, before any script or style, so it governs all of them.
      handler: (html) => {
        const meta = `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy({ forHeader: false })}" />`;
        const charset = /<meta charset="[^"]*"\s*\/?>/i;
        if (!charset.test(html)) throw new Error('index.html needs a <meta charset> for the CSP tag to follow');
        return html.replace(charset, (m) => `${m}\n    ${meta}`);
      },
    },
  };
}

const previewHeaders = {
  'Content-Security-Policy': contentSecurityPolicy({ forHeader: true }),
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
};

export default defineConfig({
  plugins: [
    react(),
    cspMetaTag(),
    VitePWA({
      // A new version waits until the user reloads (src/ui/pwa/UpdatePrompt.tsx): an update
      // never swaps code under a running training.
      registerType: 'prompt',
      injectRegister: false,
      strategies: 'generateSW',
      manifest: {
        id: '/',
        name: 'LoRA Studio',
        short_name: 'LoRA Studio',
        description: 'Fine-tune a small language model with LoRA on your own GPU. Your data never leaves your device.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#f7f7f8',
        theme_color: '#2948c8',
        categories: ['developer', 'productivity', 'education'],
        icons: [
          { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: 'icons/maskable-192.png', sizes: '192x192', type: 'image/png', purpose: 'maskable' },
          { src: 'icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: 'icons/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
        ],
      },
      workbox: {
        // The app shell, its worker, icons and sample datasets: everything to run offline.
        // Models are not here: they live in the Origin Private File System (src/hub).
        globPatterns: ['**/*.{js,mjs,css,html,svg,png,ico,wasm,webmanifest,jsonl,json,csv}'],
        // onnxruntime-web's wasm (~27 MB) comes along with @huggingface/transformers but only
        // runs ONNX models; the studio uses its tokenizers (plain JS), so it is not precached.
        globIgnores: ['**/ort-wasm*'],
        maximumFileSizeToCacheInBytes: 32 * 1024 * 1024,
        navigateFallback: 'index.html',
        cleanupOutdatedCaches: true,
        clientsClaim: false,
        skipWaiting: false,
        // No runtime caching: Hub requests go straight to the network (Range requests and
        // multi-hundred-MB files do not belong in Cache Storage twice).
        runtimeCaching: [],
      },
      devOptions: { enabled: false },
    }),
  ],
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
  preview: { host: '127.0.0.1', headers: previewHeaders },
  server: { host: '127.0.0.1' },
});
