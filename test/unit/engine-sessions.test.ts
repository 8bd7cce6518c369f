// Sessions: q8 and q4 variants load and generate, missing variants fall back, and external data loads both from a
// local path (onnxruntime-node) and as buffers through the `externalData` option (onnxruntime-web, as in the worker).
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateTurn } from '../../src/engine/generate';
import { preprocessImage } from '../../src/engine/image-preprocess';
import { ConversationKv } from '../../src/engine/kv-cache';
import { loadModel } from '../../src/engine/model-loader';
import type { ModelSource } from '../../src/shared/model-source';
import type { BackendDescriptor, OrtRuntime } from '../../src/engine/runtime';
import { dtypeCandidates } from '../../src/engine/sessions';
import { buildTurnInput } from '../../src/engine/turn-input';
import { folderSource } from '../../src/node/folder-source';
import type { Dtype } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { CPU_BACKEND, greedyTurnOptions, imageQuestion, picture } from './engine-helpers';

const WASM: BackendDescriptor = { ...CPU_BACKEND, name: 'wasm', executionProviders: ['wasm'] };

/** First-step logits and greedy ids of one fixed question. */
async function run(ort: OrtRuntime, source: ModelSource, backend: BackendDescriptor, dtype: Dtype) {
  const m = await loadModel({ ort, source, backend, dtype });
  const img = picture(32, 32, 3);
  const input = await buildTurnInput(
    m,
    [imageQuestion(img, 'What is it?')],
    'model',
    [preprocessImage(img, m.config.image)],
    null,
  );
  let first = new Float32Array(0);
  const r = await generateTurn(ort, m.decoder, m.config.text.hiddenSize, new ConversationKv(), input, {
    ...greedyTurnOptions(m, 8),
    onLogits: (l, step) => {
      if (step === 0) first = l.slice();
    },
  });
  await m.release();
  return { ids: r.ids, first, dtypes: m.dtypes, bytes: m.bytes };
}

const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((d, v, i) => Math.max(d, Math.abs(v - (b[i] as number))), 0);

let dir: string;
let fp32: Awaited<ReturnType<typeof run>>;

beforeAll(async () => {
  ortWeb.env.wasm.numThreads = 1;
  dir = getTinyModel('tiny', { dtypes: ['fp32', 'q8', 'q4'], externalData: 'always' }).dir;
  fp32 = await run(ortNode, folderSource(dir), CPU_BACKEND, 'fp32');
});

describe('dtype variants', () => {
  it('the fixture really has external data next to every variant', () => {
    const files = readdirSync(path.join(dir, 'onnx'));
    for (const f of [
      'decoder_model_merged_q4.onnx_data',
      'decoder_model_merged_quantized.onnx_data',
      'vision_encoder.onnx_data',
    ]) {
      expect(files).toContain(f);
    }
  });

  for (const [dtype, bound] of [
    ['q8', 0.5],
    ['q4', 2],
  ] as const) {
    it(`${dtype} loads its own files and generates, logits near fp32 (|Δ| < ${bound}) but not equal`, async () => {
      const r = await run(ortNode, folderSource(dir), CPU_BACKEND, dtype);
      expect(r.dtypes).toEqual({ vision_encoder: dtype, embed_tokens: dtype, decoder_model_merged: dtype });
      expect(r.ids.length).toBeGreaterThan(0);
      const d = maxDiff(r.first, fp32.first);
      expect(d).toBeGreaterThan(0);
      expect(d).toBeLessThan(bound);
      expect(r.bytes).toBeLessThan(fp32.bytes);
    });
  }

  it('falls back to a variant that exists when the requested one is missing', async () => {
    const onlyFp32 = getTinyModel('tiny').dir;
    const r = await run(ortNode, folderSource(onlyFp32), CPU_BACKEND, 'q4');
    expect(r.dtypes).toEqual({ vision_encoder: 'fp32', embed_tokens: 'fp32', decoder_model_merged: 'fp32' });
  });

  it('orders candidates sensibly and skips half precision on WebGPU without shader-f16', () => {
    expect(dtypeCandidates('decoder_model_merged', 'q4', CPU_BACKEND)[0]).toBe('q4');
    expect(dtypeCandidates('vision_encoder', { vision_encoder: 'fp16' }, CPU_BACKEND)).toEqual([
      'fp16',
      'fp32',
      'q4f16',
      'q8',
      'q4',
    ]);
    const gpu: BackendDescriptor = { ...CPU_BACKEND, name: 'webgpu', shaderF16: false };
    expect(dtypeCandidates('vision_encoder', 'fp16', gpu)).toEqual(['fp32', 'q8', 'q4']);
    expect(dtypeCandidates('embed_tokens', null, gpu)[0]).toBe('q4');
    expect(dtypeCandidates('embed_tokens', null, WASM)[0]).toBe('q8');
  });
});

describe('external data', () => {
  it('loads as buffers through the externalData option (onnxruntime-web WASM, no file paths)', async () => {
    const src = folderSource(dir);
    const bytesOnly: ModelSource = { id: src.id, read: src.read.bind(src), has: src.has.bind(src) };
    const web = await run(ortWeb, bytesOnly, WASM, 'fp32');
    expect(web.ids).toEqual(fp32.ids);
    expect(maxDiff(web.first, fp32.first)).toBeLessThan(1e-4);
    expect(web.bytes).toBe(fp32.bytes);
  });

  it('q4 through the browser path matches q4 through onnxruntime-node', async () => {
    const src = folderSource(dir);
    const bytesOnly: ModelSource = { id: src.id, read: src.read.bind(src), has: src.has.bind(src) };
    const web = await run(ortWeb, bytesOnly, WASM, 'q4');
    const node = await run(ortNode, src, CPU_BACKEND, 'q4');
    expect(web.ids).toEqual(node.ids);
    expect(maxDiff(web.first, node.first)).toBeLessThan(1e-3);
  });

  it('reports bad-model when a model file is unreadable', async () => {
    const src = folderSource(dir);
    const broken: ModelSource = {
      id: 'broken',
      read: async (p) => (p.endsWith('.onnx') ? new Uint8Array([1, 2, 3]) : src.read(p)),
      has: src.has.bind(src),
    };
    await expect(
      loadModel({ ort: ortWeb, source: broken, backend: WASM, dtype: 'fp32' }),
    ).rejects.toMatchObject({
      code: 'bad-model',
    });
  });
});
