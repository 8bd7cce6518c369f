// The training page's module worker: stage 1 of the micro recipe (align a fresh projector; vision and language
// frozen) on TF.js's WASM backend, single-threaded, with its .wasm files served by the app itself. Plain
// postMessage: 'start' (steps, seed, eval scene count), 'stop' and 'export' in; status, progress per step,
// exact-match results before and after, 'done' or 'error', and the aligned model's files ('model-files') out. Never precached by the service worker (vite.config.ts).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import indexUrl from '../test/fixtures/micro-model/micro-llava.json?url';
import binUrl from '../test/fixtures/micro-model/micro-llava.bin?url';
import tokenizerUrl from '../test/fixtures/micro-model/micro-llava-tokenizer.json?url';
import { builtTokenizerFromJson } from '../src/training/fixture-tokenizer';
import { errorMessage } from '../src/shared/errors';
import { sha256Hex } from '../src/shared/hex';
import type { BuiltTokenizer, TokenizerJson } from '../src/modelgen/llava/tokenizer-json';
import type { LlavaHfConfig, WeightMap } from '../src/modelgen/llava/types';
import { unpackTensors, type TensorFileIndex } from '../src/training/model/tensor-pack';
import {
  alignModel,
  alignProjector,
  captionScenes,
  evalScenes,
  type CaptionResult,
} from '../src/training/train/browser-align';
import { alignedModelFiles, alignedWeights, type AlignedFolder } from '../src/training/train/aligned-export';
import type { TrainRequest, TrainEvent, CaptionSample } from '../src/train-page/protocol';

declare const self: DedicatedWorkerGlobalScope;

const post = (event: TrainEvent) => self.postMessage(event);

let stopRequested = false;
let running = false;
/** The last run's model (base weights with its trained projector), kept for 'export' until the next run. */
let aligned: AlignedFolder | null = null;

async function initBackend(): Promise<void> {
  // One thread: the threaded build would need its own worker script; the single-threaded ones are all this serves.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setThreadsCount(1);
  // TF.js wants an entry for every build; the threaded one is never chosen with multithreading off above.
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmUrl,
    'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmSimdUrl,
  });
  if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js WASM backend failed to start');
  await tf.ready();
}

async function fetchOk(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res;
}

interface Fixture {
  config: LlavaHfConfig;
  weights: WeightMap;
  tokenizer: BuiltTokenizer;
}

let fixture: Promise<Fixture> | null = null;

/** The committed micro model (sha256-checked), fetched once per worker. */
async function loadFixture(): Promise<Fixture> {
  await initBackend();
  const [index, bin, tokJson] = await Promise.all([
    fetchOk(indexUrl).then((r) => r.json() as Promise<TensorFileIndex>),
    fetchOk(binUrl).then(async (r) => new Uint8Array(await r.arrayBuffer())),
    fetchOk(tokenizerUrl).then((r) => r.json() as Promise<TokenizerJson>),
  ]);
  const digest = await sha256Hex(bin);
  if (digest !== index.sha256)
    throw new Error(`micro-llava.bin: sha256 ${digest} does not match ${index.sha256}`);
  return {
    config: index.meta.config as LlavaHfConfig,
    weights: unpackTensors(index, bin),
    tokenizer: builtTokenizerFromJson(tokJson),
  };
}

function samples(results: readonly CaptionResult[], count: number): CaptionSample[] {
  return results.slice(0, count).map((r) => ({
    width: r.scene.width,
    height: r.scene.height,
    rgba: r.scene.rgba,
    truth: r.scene.caption,
    answer: r.answer,
    exact: r.exact,
  }));
}

async function run(req: Extract<TrainRequest, { type: 'start' }>): Promise<void> {
  running = true;
  stopRequested = false;
  aligned = null;
  const t0 = performance.now();
  try {
    post({ type: 'status', text: 'Loading the micro model and TF.js (WebAssembly)…' });
    fixture ??= loadFixture();
    const f = await fixture.catch((error: unknown) => {
      fixture = null;
      throw error;
    });
    // A fresh projector for every run, seeded; vision and language weights from the fixture.
    const m = alignModel(f.config, f.weights, f.tokenizer, req.seed);
    try {
      const scenes = evalScenes(m, req.seed, req.evalScenes);
      /** Captions the evaluation scenes and reports how many came out exactly right. */
      const evaluate = async (phase: 'before' | 'after', status: string) => {
        post({ type: 'status', text: status });
        // Lets the status reach the page before captioning holds the worker.
        await new Promise((resolve) => setTimeout(resolve, 0));
        const results = captionScenes(m, scenes);
        post({
          type: 'eval',
          phase,
          exact: results.filter((r) => r.exact).length,
          total: results.length,
          samples: samples(results, req.samples),
        });
      };
      await evaluate('before', `Captioning ${scenes.length} fresh scenes with the random projector…`);
      post({ type: 'status', text: 'Training the projector (stage 1)…' });
      const tTrain = performance.now();
      const steps = await alignProjector(m, {
        steps: req.steps,
        seed: req.seed,
        ...(req.batch ? { batch: req.batch } : {}),
        shouldStop: () => stopRequested,
        onStep: (r) => post({ type: 'progress', ...r }),
      });
      const trainSeconds = (performance.now() - tTrain) / 1000;
      if (steps > 0) aligned = { ...f, weights: alignedWeights(f.weights, m.params), steps, seed: req.seed };
      if (stopRequested) {
        post({ type: 'done', stopped: true, steps, trainSeconds, seconds: (performance.now() - t0) / 1000 });
        return;
      }
      await evaluate('after', `Captioning the same ${scenes.length} scenes with the trained projector…`);
      post({ type: 'done', stopped: false, steps, trainSeconds, seconds: (performance.now() - t0) / 1000 });
    } finally {
      m.params.dispose();
    }
  } catch (error) {
    post({ type: 'error', message: errorMessage(error) });
  } finally {
    running = false;
  }
}

/** Builds the folder of the last run's model and hands its bytes to the page (about 1 MB: copied, not transferred). */
async function exportAligned(): Promise<void> {
  try {
    if (!aligned || running) throw new Error('there is no trained model to export: train first');
    const files = await alignedModelFiles(aligned);
    post({ type: 'model-files', steps: aligned.steps, files });
  } catch (error) {
    post({ type: 'error', message: errorMessage(error), during: 'export' });
  }
}

self.onmessage = (e: MessageEvent<TrainRequest>) => {
  const req = e.data;
  if (req.type === 'stop') stopRequested = true;
  else if (req.type === 'start' && !running) void run(req);
  else if (req.type === 'export') void exportAligned();
};
