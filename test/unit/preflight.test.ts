// The preflight: the engine's own parsing on a model's small files, before any weight byte. Every replica of a
// catalog model passes with its published facts; models the engine cannot run are refused with the reason; and a
// load through the engine and the weight store refuses such a repo having fetched 0 weight bytes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine';
import { preflightModel } from '../../src/engine/preflight';
import type { Component, Dtype, SmallFileReader } from '../../src/shared/protocol';
import { openCachedSource } from '../../src/store/ensure-cached';
import { jsonBytes } from '../../src/modelgen/llava/config-files';
import {
  LLAVA15_7B,
  LLAVA_INTERLEAVE,
  LLAVA_ONEVISION,
  NANOLLAVA,
  type PublishedModel,
} from '../fixtures/replicas/published';
import { replicaTokenizer } from '../fixtures/replicas/replica-model';
import { getTinyModel } from '../fixtures/tiny-model';
import { CPU_BACKEND } from './engine-helpers';
import { CHUNK, freshStore } from './helpers/store-fixtures';
import { folderRef, serversClosedAfterEach } from './helpers/store-server';

const startServer = serversClosedAfterEach();

/** The small files of a published model, unshrunk (the weights are never needed). */
function publishedFiles(p: PublishedModel, patch: Record<string, unknown> = {}): Map<string, Uint8Array> {
  const files = new Map<string, unknown>([
    ['config.json', p.config],
    ['generation_config.json', p.generationConfig],
    ['preprocessor_config.json', p.preprocessorConfig],
    ['tokenizer.json', replicaTokenizer(p)],
    ['tokenizer_config.json', p.tokenizerConfig],
  ]);
  if (p.processorConfig) files.set('processor_config.json', p.processorConfig);
  if (p.chatTemplate) files.set('chat_template.json', { chat_template: p.chatTemplate });
  for (const [k, v] of Object.entries(patch)) files.set(k, v);
  return new Map([...files].map(([k, v]) => [k, jsonBytes(v)]));
}

function reader(files: Map<string, Uint8Array>): SmallFileReader {
  return (p) => Promise.resolve(files.get(p) ?? null);
}

const Q4: Record<Component, Dtype> = {
  vision_encoder: 'fp16',
  embed_tokens: 'fp16',
  decoder_model_merged: 'q4',
};
const FP32: Record<Component, Dtype> = {
  vision_encoder: 'fp32',
  embed_tokens: 'fp32',
  decoder_model_merged: 'fp32',
};

describe('preflight on published files', () => {
  it('passes every catalog model (and the converted LLaVA-1.5) with the facts it publishes', async () => {
    const expected: Array<[PublishedModel, string, number, number]> = [
      [NANOLLAVA, '<image>', -200, 729],
      [LLAVA_INTERLEAVE, '<image>', 151646, 729],
      [LLAVA_ONEVISION, '<image>', 151646, 729],
      [LLAVA15_7B, '<image>', 32000, 576],
    ];
    for (const [p, token, id, perPicture] of expected) {
      const r = await preflightModel(reader(publishedFiles(p)), { dtype: Q4 });
      expect([r.imageToken, r.imageTokenId, r.imageTokensPerPicture]).toEqual([token, id, perPicture]);
      expect(r.samplePromptTokens).toBeGreaterThan(perPicture);
      expect(r.caveat === null).toBe(p !== LLAVA_ONEVISION);
    }
  });

  it('names the largest weight and refuses it over the GPU buffer limit, before any weight is read', async () => {
    const files = reader(publishedFiles(LLAVA_INTERLEAVE));
    const fits = await preflightModel(files, {
      dtype: Q4,
      bufferLimits: { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 1 << 30 },
    });
    // embed_tokens fp16: 152000 × 1024 × 2 bytes = 311 MB, the catalog's embed_tokens_fp16.onnx size.
    expect(fits.largestWeight).toEqual({ name: 'embed_tokens [152000 × 1024] (fp16)', bytes: 311_296_000 });
    await expect(
      preflightModel(files, {
        dtype: FP32,
        bufferLimits: { maxBufferSize: 4e9, maxStorageBufferBindingSize: 128 * 1024 * 1024 },
      }),
    ).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringMatching(
        /embed_tokens \[152000 × 1024\] \(fp32\) takes at least 594 MB.*\(128 MB\)/,
      ),
    });
  });

  it('refuses what the engine cannot run, naming why', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ 'config.json': { ...LLAVA_ONEVISION.config, model_type: 'llava_next' } }, 'unsupported', /anyres/],
      [
        { 'config.json': { ...LLAVA_INTERLEAVE.config, model_type: 'paligemma' } },
        'unsupported',
        /paligemma/,
      ],
      [{ 'config.json': { ...LLAVA_INTERLEAVE.config, image_token_index: 151650 } }, 'bad-model', /151650/],
      [
        { 'chat_template.json': { chat_template: "{% for m in messages %}{{ m['role'] }}{% endfor %}" } },
        'bad-model',
        /does not place a picture/,
      ],
      [
        {
          'config.json': {
            ...LLAVA_INTERLEAVE.config,
            text_config: { model_type: 'qwen2', max_position_embeddings: 512 },
          },
        },
        'unsupported',
        /729 tokens, more than this model's context window of 512/,
      ],
    ];
    for (const [patch, code, message] of cases) {
      await expect(
        preflightModel(reader(publishedFiles(LLAVA_INTERLEAVE, patch)), { dtype: Q4 }),
      ).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    }
    const noConfig = publishedFiles(LLAVA_INTERLEAVE);
    noConfig.delete('config.json');
    await expect(preflightModel(reader(noConfig), { dtype: Q4 })).rejects.toMatchObject({
      code: 'bad-model',
    });
  });
});

/** A generated folder as served bytes, with some JSON files replaced. */
function servedFolder(dir: string, patch: Record<string, unknown> = {}): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(path.join(dir, r)).isDirectory()) walk(r);
      else if (r !== 'manifest.json') out.set(r, new Uint8Array(readFileSync(path.join(dir, r))));
    }
  };
  walk('');
  for (const [k, v] of Object.entries(patch)) out.set(k, jsonBytes(v));
  return out;
}

describe('preflight in a load: engine + weight store', () => {
  async function loadServed(files: Map<string, Uint8Array>) {
    const server = await startServer(files);
    const store = freshStore();
    const engine = createEngine({
      ort,
      openSource: (ref, op) => openCachedSource(ref, { store, chunkSize: CHUNK, storage: null, ...op }),
      decodeImage: () => Promise.reject(new Error('no images here')),
      selectBackend: () => Promise.resolve(CPU_BACKEND),
    });
    const weightBytes = (): number =>
      [...files.keys()].filter((f) => f.startsWith('onnx/')).reduce((n, f) => n + server.bytesSent(f), 0);
    return { server, store, engine, weightBytes };
  }

  it('refuses an unsupported repo with 0 weight bytes downloaded and nothing left in the store', async () => {
    const { dir } = getTinyModel('tiny');
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const run = await loadServed(
      servedFolder(dir, { 'config.json': { ...config, model_type: 'llava_next' } }),
    );
    await expect(run.engine.load(folderRef(run.server), { dtype: 'fp32' })).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringMatching(/LLaVA-NeXT/),
    });
    expect(run.weightBytes()).toBe(0);
    expect(run.server.bytesSent('config.json')).toBeGreaterThan(0);
    expect(await run.store.getModel('tiny')).toBeUndefined();
    expect(await run.store.listFiles('tiny')).toEqual([]);
  });

  it('lets a model it can run through: the weights follow the small files and the model answers', async () => {
    const { dir } = getTinyModel('tiny');
    const run = await loadServed(servedFolder(dir));
    const status = await run.engine.load(folderRef(run.server), { dtype: 'fp32' });
    expect(status.model?.id).toBe('tiny');
    expect(run.weightBytes()).toBeGreaterThan(0);
    const reply = await run.engine.chat({
      messages: [{ role: 'user', content: 'Hi' }],
      sampling: { maxNewTokens: 2 },
    });
    expect(reply.usage.completionTokens).toBe(2);
  });
});
