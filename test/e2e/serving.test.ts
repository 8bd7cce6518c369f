// `vite` (dev) and `vite preview` send the cross-origin isolation headers on every response, worker scripts and ORT's
// runtime files included, so WASM threads work in both; ORT's files come from the app's own server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, preview } from 'vite';
import type { PreviewServer, ViteDevServer } from 'vite';
import path from 'node:path';
import { buildApp, projectRoot } from './harness/build-app';

const configFile = path.join(projectRoot, 'vite.config.ts');

async function headersOf(url: string): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

function expectIsolated(headers: Headers): void {
  expect(headers.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(headers.get('cross-origin-embedder-policy')).toBe('require-corp');
}

describe('dev and preview servers', () => {
  let dev: ViteDevServer;
  let served: PreviewServer;
  let devOrigin: string;
  let previewOrigin: string;

  beforeAll(async () => {
    dev = await createServer({
      root: projectRoot,
      configFile,
      logLevel: 'error',
      server: { host: '127.0.0.1', port: 0 },
    });
    await dev.listen();
    devOrigin = dev.resolvedUrls?.local[0]?.replace(/\/$/, '') ?? '';
    const dist = await buildApp({ target: 'product' });
    served = await preview({
      root: projectRoot,
      configFile,
      logLevel: 'error',
      build: { outDir: dist },
      preview: { host: '127.0.0.1', port: 0 },
    });
    previewOrigin = served.resolvedUrls?.local[0]?.replace(/\/$/, '') ?? '';
  });

  afterAll(async () => {
    await dev?.close();
    await served?.close();
  });

  it('dev: the page, the worker module and the ORT runtime the worker imports are isolated and local', async () => {
    expectIsolated((await headersOf(`${devOrigin}/`)).headers);
    const worker = await headersOf(`${devOrigin}/workers/ort-env.ts`);
    expect(worker.status).toBe(200);
    expectIsolated(worker.headers);
    // The worker names ORT's files with `?url` imports: in dev each is a module whose default export is the file's URL.
    const imports = [
      ...worker.body.matchAll(/from "(\/[^"]*ort-wasm-simd-threaded\.asyncify\.(?:mjs|wasm)\?[^"]*url)"/g),
    ];
    expect(imports).toHaveLength(2);
    for (const [, module] of imports) {
      const exported = /export default "([^"]+)"/.exec((await headersOf(`${devOrigin}${module}`)).body)?.[1];
      expect(exported, module).toMatch(/^\/[^:]*ort-wasm-simd-threaded\.asyncify\.(mjs|wasm)$/);
      const url = exported!;
      const response = await fetch(`${devOrigin}${url}`);
      expect(response.status, url).toBe(200);
      expectIsolated(response.headers);
      await response.arrayBuffer();
    }
  });

  it('preview: the built page, its worker chunk and ORT files are isolated', async () => {
    const page = await headersOf(`${previewOrigin}/`);
    expectIsolated(page.headers);
    const script = /src="(\/assets\/index-[\w-]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeTruthy();
    const main = await headersOf(`${previewOrigin}${script}`);
    const workerChunk = /assets\/engine\.worker-[\w-]+\.js/.exec(main.body)?.[0];
    expect(workerChunk).toBeTruthy();
    const worker = await headersOf(`${previewOrigin}/${workerChunk}`);
    expect(worker.status).toBe(200);
    expectIsolated(worker.headers);
    const ortFiles = [
      ...worker.body.matchAll(/assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.(?:mjs|wasm)/g),
    ].map((m) => m[0]);
    expect(new Set(ortFiles).size).toBe(2);
    for (const file of new Set(ortFiles)) {
      const response = await fetch(`${previewOrigin}/${file}`);
      expect(response.status, file).toBe(200);
      expectIsolated(response.headers);
      if (file.endsWith('.wasm')) expect(response.headers.get('content-type')).toBe('application/wasm');
      await response.arrayBuffer();
    }
  });
});
