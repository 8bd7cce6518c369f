// Owns how the app is built and served: Solid, cross-origin isolation headers, the module worker and ORT's runtime files.
// It must not fetch anything from a CDN at build or run time: every ORT file is emitted into the app itself.
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';
import solid from 'vite-plugin-solid';
import { VitePWA } from 'vite-plugin-pwa';
import { appContentSecurityPolicy, modelHostsWith, securityHeaders } from './src/shared/security-policy';

/**
 * Cross-origin isolation lets ORT use SharedArrayBuffer and so several WASM threads.
 * `credentialless` would also do, but `require-corp` is what the static test server and most hosts can send.
 */
export const isolationHeaders: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * The app's security policy (src/shared/security-policy.ts): a CSP meta tag at the top of every page's head, for
 * static hosts that send no headers, and the full header set from the dev and preview servers.
 */
function securityPolicy(): Plugin {
  const modelHosts = modelHostsWith(process.env['LLAVA_MODEL_HOSTS']);
  const sendHeaders = (
    req: { url?: string | undefined },
    res: { setHeader(n: string, v: string): unknown },
  ) => {
    for (const [name, value] of Object.entries(securityHeaders(req.url ?? '/', modelHosts)))
      res.setHeader(name, value);
  };
  return {
    name: 'llava-security-policy',
    // The product's pages only; the test and bench pages are not served to users.
    transformIndexHtml: (_html, ctx) =>
      !/(^|\/)(index|train)\.html$/.test(ctx.path)
        ? []
        : [
            {
              tag: 'meta',
              attrs: {
                'http-equiv': 'Content-Security-Policy',
                content: appContentSecurityPolicy(modelHosts),
              },
              injectTo: 'head-prepend',
            },
            { tag: 'meta', attrs: { name: 'referrer', content: 'no-referrer' }, injectTo: 'head-prepend' },
          ],
    configureServer: (server) => {
      server.middlewares.use((req, res, next) => {
        sendHeaders(req, res);
        next();
      });
    },
    configurePreviewServer: (server) => {
      server.middlewares.use((req, res, next) => {
        sendHeaders(req, res);
        next();
      });
    },
  };
}

/**
 * Resolve onnxruntime-web to its build that does not embed the WASM glue: the worker then loads exactly one
 * `.mjs` + `.wasm` pair, the one named in workers/ort-env.ts, instead of a second copy inlined in the bundle.
 */
const ortExternWasmCondition = 'onnxruntime-web-use-extern-wasm';

/** How the engine's imports resolve; the library build (vite.lib.config.ts) uses the same. */
export const engineResolve = {
  conditions: [...defaultClientConditions, ortExternWasmCondition],
  alias: {
    // transformers.js imports `Tensor` from onnxruntime-common; npm resolves that to the 1.30 copy that
    // onnxruntime-node needs. Point it at onnxruntime-web (which re-exports the same API) so the bundle holds
    // one ORT, the version transformers.js itself runs on.
    'onnxruntime-common': 'onnxruntime-web/webgpu',
  },
};

export default defineConfig({
  plugins: [
    solid(),
    securityPolicy(),
    // The PWA (owned by the UI): workers/service-worker.ts precaches the app shell and ORT's .mjs/.wasm, never model
    // weights (they live in the weight store), and adds the isolation headers where a host cannot send them.
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'workers',
      filename: 'service-worker.ts',
      registerType: 'prompt',
      injectRegister: false,
      manifest: false,
      injectManifest: {
        rollupFormat: 'iife',
        globPatterns: ['**/*.{html,js,mjs,css,wasm,svg,png,ico,webmanifest}'],
        // The training page (train.html) is not part of the offline app: its page, worker, TF.js WASM runtime and
        // the micro model's weights load from the network when it is opened.
        globIgnores: [
          'models/**',
          'test/**',
          'test-*.html',
          '**/*.map',
          'train.html',
          'assets/train-*',
          'assets/train.worker-*',
          'assets/tfjs-backend-wasm*',
          'assets/micro-llava*',
        ],
        // ORT's WASM runtime is ~27 MB: above Workbox's 2 MiB default, and needed offline.
        maximumFileSizeToCacheInBytes: 64 * 1024 * 1024,
      },
    }),
  ],
  resolve: engineResolve,
  worker: {
    format: 'es',
  },
  optimizeDeps: {
    // Pre-bundling would rewrite ORT's `import.meta.url` lookups; the worker loads it as shipped. onnxruntime-common
    // is the alias above: left to the optimiser it is found only when the worker first loads a model, and the
    // dev server then reloads the page, swallowing the click that asked for the model.
    exclude: ['onnxruntime-web', 'onnxruntime-common', '@huggingface/transformers'],
    // The training worker's TF.js, found up front: discovered on the first Start, it would reload the page mid-run.
    include: [
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-core/dist/register_all_gradients',
      '@tensorflow/tfjs-backend-wasm',
    ],
  },
  build: {
    target: 'es2022',
    // Two pages: the chat app (index.html, the default) and the in-browser training demo (train.html).
    rolldownOptions: {
      input: { index: 'index.html', train: 'train.html' },
    },
    // ORT's runtime is 27 MB of WASM; a size warning on it says nothing new.
    chunkSizeWarningLimit: 2048,
  },
  // Both servers send the headers on every response, worker scripts and ORT's files included.
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
});
