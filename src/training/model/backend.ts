// Owns starting TF.js for training and export checks: the WASM backend (SIMD, wasm files from node_modules) and the
// registration of gradients, which tfjs-core ships as a separate module. Node-only.

import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';

let ready: Promise<void> | null = null;

async function registerGradients(): Promise<void> {
  // tfjs-core's gradient registry is global; its module uses extension-less ESM imports that Node cannot resolve,
  // so it is loaded through require (tsx) or, under Vite/Vitest, a plain dynamic import that the bundler resolves.
  try {
    createRequire(import.meta.url)('@tensorflow/tfjs-core/dist/register_all_gradients');
  } catch {
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  }
}

/**
 * Selects the TF.js WASM backend once per process.
 * @param threads WASM threads (Node builds are single-threaded unless the threaded build can start).
 */
export function initTf(threads = 1): Promise<void> {
  ready ??= (async () => {
    const dir = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
    setWasmPaths(`${dir}${path.sep}`);
    setThreadsCount(threads);
    await registerGradients();
    if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js WASM backend failed to start');
    await tf.ready();
  })();
  return ready;
}
