// Benchmark page: the contender "transformers.js in the browser". Loads LlavaForConditionalGeneration from the served
// model folder (offline: local files, runtime files from /ort/) and runs the benchmark conversation on the main thread,
// re-prefilling the whole conversation every turn as generate() does. Built only by test/bench/browser-build.ts.
import * as hf from '@huggingface/transformers';
import type { RawImage } from '../../../src/shared/protocol';
import { benchImagePixels, IMAGE_HEIGHT, IMAGE_WIDTH, type TurnTiming } from '../conversation';
import { tjsConversation } from '../tjs-conversation';

export interface TjsRun {
  modelId: string;
  dtype: 'fp32' | 'q4';
  device: 'wasm' | 'webgpu';
  newTokens: number[];
}

export interface TjsOutcome {
  loadMs: number;
  turns: TurnTiming[];
  threads: number;
}

/** The same thread rule as the app's worker (workers/ort-env.ts): up to 4, only when cross-origin isolated. */
const threads = self.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2)) : 1;

hf.env.allowRemoteModels = false;
hf.env.allowLocalModels = true;
hf.env.localModelPath = '/models/';
hf.env.useBrowserCache = false;
const wasm = hf.env.backends.onnx.wasm;
if (wasm) {
  wasm.wasmPaths = '/ort/';
  wasm.numThreads = threads;
  wasm.proxy = false;
}

async function run(config: TjsRun): Promise<TjsOutcome> {
  const t0 = performance.now();
  const processor = await hf.AutoProcessor.from_pretrained(config.modelId);
  const model = await hf.LlavaForConditionalGeneration.from_pretrained(config.modelId, {
    dtype: config.dtype,
    device: config.device,
  });
  const loadMs = performance.now() - t0;
  const image: RawImage = { width: IMAGE_WIDTH, height: IMAGE_HEIGHT, data: benchImagePixels() };
  const turns = await tjsConversation(hf, processor, model, image, config.newTokens);
  await model.dispose();
  return { loadMs, turns, threads };
}

(globalThis as unknown as { bench: { run: typeof run } }).bench = { run };
