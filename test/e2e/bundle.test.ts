// The product build (`vite build`, what `npm run build` ships): exactly one onnxruntime-web, the version
// transformers.js uses, as one .mjs + .wasm pair served from the app's own assets; no test hooks; sizes reported.
import { readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, projectRoot } from './harness/build-app';

const packageJson = (name: string) =>
  JSON.parse(readFileSync(path.join(projectRoot, 'node_modules', name, 'package.json'), 'utf8')) as {
    version: string;
    dependencies?: Record<string, string>;
  };

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(full, base)));
    else files.push(path.relative(base, full));
  }
  return files.sort();
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

describe('built app', () => {
  let dist: string;
  let files: string[];
  let scripts: { file: string; text: string }[];
  const report: string[] = [];

  beforeAll(async () => {
    dist = await buildApp({ target: 'product' });
    // Generated demo models are data copied from public/, not the bundle.
    files = (await listFiles(dist)).filter((file) => !file.startsWith('models/'));
    scripts = await Promise.all(
      files
        .filter((file) => /\.(m?js)$/.test(file))
        .map(async (file) => ({ file, text: await readFile(path.join(dist, file), 'utf8') })),
    );
  });

  afterAll(async () => {
    // Sizes are measurements to report, not pass/fail criteria.
    if (!files) return;
    let total = 0;
    let scriptsRaw = 0;
    let scriptsGzip = 0;
    for (const file of files) total += (await stat(path.join(dist, file))).size;
    for (const { file, text } of scripts) {
      if (file.includes('ort-wasm')) continue;
      const gzip = gzipSync(text).length;
      scriptsRaw += Buffer.byteLength(text);
      scriptsGzip += gzip;
      report.push(`${file}: ${kb(Buffer.byteLength(text))} (${kb(gzip)} gzipped)`);
    }
    report.push(
      `JavaScript without ORT's runtime: ${kb(scriptsRaw)} (${kb(scriptsGzip)} gzipped); whole app without models: ${mb(total)}`,
    );
    console.log(`[bundle] ${report.join('\n[bundle] ')}`);
  });

  it('serves exactly one ORT runtime pair (.mjs + .wasm) from its own assets, byte-identical to the package', async () => {
    const ortFiles = files.filter((file) => /(^|\/)ort[-.].*\.(wasm|mjs)$/.test(file));
    expect(ortFiles).toHaveLength(2);
    const mjs = ortFiles.find((file) => file.endsWith('.mjs'));
    const wasm = ortFiles.find((file) => file.endsWith('.wasm'));
    expect(mjs).toMatch(/^assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.mjs$/);
    expect(wasm).toMatch(/^assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.wasm$/);
    // No other WebAssembly anywhere in the app but TF.js's single-threaded backend, for the training page only.
    const tfjsWasm = /^assets\/tfjs-backend-wasm(-simd)?-[\w-]{8}\.wasm$/;
    expect(files.filter((file) => file.endsWith('.wasm') && !tfjsWasm.test(file))).toEqual([wasm]);
    const ortDist = path.join(projectRoot, 'node_modules/onnxruntime-web/dist');
    for (const [built, original] of [
      [mjs!, 'ort-wasm-simd-threaded.asyncify.mjs'],
      [wasm!, 'ort-wasm-simd-threaded.asyncify.wasm'],
    ] as const) {
      const a = await readFile(path.join(dist, built));
      const b = await readFile(path.join(ortDist, original));
      expect(a.equals(b), `${built} differs from ${original}`).toBe(true);
    }
    const wasmBytes = (await stat(path.join(dist, wasm!))).size;
    report.push(
      `ORT files served: /${mjs} (${kb((await stat(path.join(dist, mjs!))).size)}), /${wasm} (${mb(wasmBytes)}, ${mb(gzipSync(await readFile(path.join(dist, wasm!))).length)} gzipped)`,
    );
  });

  it('bundles one onnxruntime-web, the version transformers.js depends on, and nothing of onnxruntime-common 1.30', () => {
    const web = packageJson('onnxruntime-web');
    expect(packageJson('@huggingface/transformers').dependencies?.['onnxruntime-web']).toBe(web.version);
    const banners = scripts.flatMap(({ file, text }) =>
      [...text.matchAll(/ONNX Runtime Web v([\w.-]+)/g)].map((match) => ({ file, version: match[1] })),
    );
    expect(banners).toHaveLength(1);
    expect(banners[0]?.version).toBe(web.version);
    expect(banners[0]?.file).toMatch(/^assets\/engine\.worker-[\w-]+\.js$/);
    // The top-level onnxruntime-common (for onnxruntime-node) must not sneak in beside ORT web's own copy.
    const nodeCommon = packageJson('onnxruntime-common').version;
    expect(nodeCommon).not.toBe(web.version);
    expect(
      scripts.filter(
        ({ text }) =>
          text.includes(`"${nodeCommon}"`) ||
          text.includes(`'${nodeCommon}'`) ||
          text.includes(`\`${nodeCommon}\``),
      ),
    ).toEqual([]);
  });

  it('keeps ORT out of the page: the main thread loads only the UI, the worker loads the engine', () => {
    const pageScripts = scripts.filter(({ file }) => !file.includes('worker') && !file.includes('ort-wasm'));
    for (const { file, text } of pageScripts) {
      expect(text.includes('ONNX Runtime'), `${file} contains ORT`).toBe(false);
      expect(text.includes('InferenceSession'), `${file} contains ORT`).toBe(false);
    }
  });

  it('ships no test pages or debug hooks', () => {
    expect(files.filter((file) => file.startsWith('test/') || file.includes('debug'))).toEqual([]);
    for (const { file, text } of scripts) {
      expect(/debugLoseDevice|debugCrash|simulated engine crash/.test(text), `${file} has a debug hook`).toBe(
        false,
      );
    }
  });
});
