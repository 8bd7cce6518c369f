// Owns onnxruntime-web's global settings in the worker: where its runtime files are served from and how many threads.
// It must not create sessions or pick a backend (backend.ts does that).
import * as ort from 'onnxruntime-web/webgpu';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';

/** The onnxruntime-web module the engine runs on (the WebGPU build, which also runs the WASM EP). */
export type Ort = typeof ort;

/** Threads ORT may use; more than 4 rarely helps a decoder and starves the UI thread's core. */
const maxThreads = 4;

/** Thread count for the WASM EP: several only when the page is cross-origin isolated (SharedArrayBuffer). */
export function wasmThreadCount(): number {
  if (!self.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(maxThreads, navigator.hardwareConcurrency || 2));
}

/** Where ORT's runtime glue (`.mjs`) and WebAssembly binary (`.wasm`) are fetched from. */
export interface OrtFiles {
  mjs: string;
  wasm: string;
}

/**
 * Points ORT at the one `.mjs` + `.wasm` pair the app itself serves (Vite emits both into dist/assets), so nothing is
 * fetched from a CDN and the page works offline; `files`
 * overrides either URL (relative to the worker). Call once, before the first session.
 */
export function configureOrt(files: Partial<OrtFiles> = {}): Ort {
  const origin = self.location.href;
  ort.env.wasm.wasmPaths = {
    mjs: new URL(files.mjs ?? ortMjsUrl, origin).href,
    wasm: new URL(files.wasm ?? ortWasmUrl, origin).href,
  };
  ort.env.wasm.numThreads = wasmThreadCount();
  // The worker already is off the main thread; ORT's own proxy worker would only add a hop.
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  return ort;
}

/** The ORT runtime files the worker loads, for status and tests. */
export const ortRuntimeFiles = { mjs: ortMjsUrl, wasm: ortWasmUrl } as const;
