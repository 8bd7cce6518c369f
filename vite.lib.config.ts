// Owns the library build (`npm run build:lib` → dist-lib/): the embeddable engine (src/lib) and the service-worker
// route (workers/openai-route.ts) as ES modules, the engine worker beside them, and ORT's runtime files emitted as
// files next to the worker (never inlined: 27 MB of WASM) and found relative to it. Types come from tsconfig.lib.json.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import { engineResolve } from './vite.config';

const ORT_URL = '\0llava-ort-file:';

/**
 * Library mode inlines every `?url` asset as a data: URL. ORT's `.mjs` and `.wasm` are emitted as files instead,
 * their URLs resolved against the importing chunk at run time (the worker's own address).
 */
function ortFilesBesideWorker(): Plugin {
  return {
    name: 'llava-ort-files-beside-worker',
    enforce: 'pre',
    async resolveId(source, importer) {
      if (!/^onnxruntime-web\/.+\.(mjs|wasm)\?url$/.test(source)) return null;
      const resolved = await this.resolve(source.replace(/\?url$/, ''), importer, { skipSelf: true });
      return resolved ? ORT_URL + resolved.id : null;
    },
    async load(id) {
      if (!id.startsWith(ORT_URL)) return null;
      const file = id.slice(ORT_URL.length);
      const ref = this.emitFile({ type: 'asset', name: path.basename(file), source: await readFile(file) });
      return `export default import.meta.ROLLUP_FILE_URL_${ref};`;
    },
  };
}

export default defineConfig({
  publicDir: false,
  // Relative URLs: the library works from whatever folder a page serves it from.
  base: './',
  resolve: engineResolve,
  plugins: [ortFilesBesideWorker()],
  worker: { format: 'es', plugins: () => [ortFilesBesideWorker()] },
  build: {
    target: 'es2022',
    outDir: 'dist-lib',
    emptyOutDir: true,
    // Minified: the worker and its chunk are loaded as they are, never re-bundled by the page that uses them.
    minify: true,
    lib: {
      entry: { llava: 'src/lib/index.ts', 'openai-route': 'workers/openai-route.ts' },
      formats: ['es'],
    },
    chunkSizeWarningLimit: 2048,
  },
});
