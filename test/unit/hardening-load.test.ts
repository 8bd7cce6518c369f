// A failed load keeps the model that was loaded: a download that fails or a backend that cannot be had leaves it
// untouched; a build that fails (or is aborted) after its sessions were released builds it again from its cached
// source; status() says what is really loaded; openSource hears the load's dtype.
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine';
import type { ModelSource } from '../../src/shared/model-source';
import type { OrtRuntime } from '../../src/engine/runtime';
import { folderSource } from '../../src/node/folder-source';
import { isAbortError } from '../../src/shared/abort';
import { EngineError } from '../../src/shared/errors';
import type { ChatRequest, DtypeChoice, EngineApi, ModelRef } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { CPU_BACKEND } from './engine-helpers';

let dir: string;
beforeAll(() => {
  dir = getTinyModel('tiny').dir;
});

/** Counts sessions created and released through the runtime the engine was given. */
function countingOrt() {
  const counts = { created: 0, released: 0 };
  const runtime: OrtRuntime = {
    Tensor: ort.Tensor,
    InferenceSession: {
      create: (async (...args: Parameters<typeof ort.InferenceSession.create>) => {
        const session = await ort.InferenceSession.create(...args);
        counts.created++;
        const release = session.release.bind(session);
        session.release = async () => {
          counts.released++;
          await release();
        };
        return session;
      }) as typeof ort.InferenceSession.create,
    },
  };
  return { runtime, counts };
}

/** The tiny model under another id, with its decoder replaced by bytes no runtime accepts. */
function brokenDecoderSource(id: string): ModelSource {
  const inner = folderSource(dir, id);
  const broken = 'onnx/decoder_model_merged.onnx';
  return {
    id,
    has: (path) => inner.has(path),
    read: (path, options) =>
      path === broken ? Promise.resolve(new Uint8Array([8, 1, 18, 3, 1, 2])) : inner.read(path, options),
    localPath: (path) => (path === broken ? null : inner.localPath!(path)),
    size: (path) => inner.size!(path),
  };
}

interface Harness {
  engine: EngineApi;
  counts: { created: number; released: number };
  opened: { ref: ModelRef; dtype: DtypeChoice | undefined }[];
}

/** An engine whose sources are chosen by ref id: 'good', 'broken' (decoder fails to build), 'offline' (download fails). */
function harness(options: { failBackend?: boolean } = {}): Harness {
  const { runtime, counts } = countingOrt();
  const opened: Harness['opened'] = [];
  const engine = createEngine({
    ort: runtime,
    openSource: async (ref, op) => {
      opened.push({ ref, dtype: op.dtype });
      const id = ref.kind === 'local' ? ref.id : '';
      if (id === 'offline') throw new EngineError('download-failed', 'The server could not be reached.');
      return id === 'broken' ? brokenDecoderSource('broken') : folderSource(dir, id);
    },
    decodeImage: () => Promise.reject(new EngineError('bad-image', 'no files here')),
    selectBackend: async (requested) => {
      if (options.failBackend && requested === 'webgpu')
        throw new EngineError('webgpu-unavailable', 'No WebGPU here.');
      return CPU_BACKEND;
    },
  });
  return { engine, counts, opened };
}

const ask: ChatRequest = {
  messages: [{ role: 'user', content: 'What is in the picture?' }],
  sampling: { maxNewTokens: 6, temperature: 0 },
};
const local = (id: string): ModelRef => ({ kind: 'local', id });

describe('a failed load keeps the loaded model', () => {
  it('a failed download releases nothing: same sessions, same answers', async () => {
    const { engine, counts } = harness();
    await engine.load(local('good'), { dtype: 'fp32' });
    const before = await engine.chat(ask);
    const err = await engine.load(local('offline'), { dtype: 'fp32' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'EngineError', code: 'download-failed' });
    expect(counts).toEqual({ created: 3, released: 0 });
    expect((await engine.status()).model?.id).toBe('good');
    expect((await engine.chat(ask)).message.content).toBe(before.message.content);
  });

  it('a backend that cannot be had releases nothing', async () => {
    const { engine, counts } = harness({ failBackend: true });
    await engine.load(local('good'), { dtype: 'fp32' });
    await expect(engine.load(local('good'), { device: 'webgpu' })).rejects.toMatchObject({
      code: 'webgpu-unavailable',
    });
    expect(counts).toEqual({ created: 3, released: 0 });
    expect((await engine.status()).model?.id).toBe('good');
  });

  it('a build that fails rethrows its code and rebuilds the previous model from its source', async () => {
    const { engine, counts, opened } = harness();
    const loaded = await engine.load(local('good'), { dtype: 'fp32' });
    const before = await engine.chat(ask);
    const err = await engine.load(local('broken'), { dtype: 'fp32' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'EngineError', code: 'bad-model' });
    expect((err as Error).message).toContain('decoder_model_merged');
    // The old three were released, two of the new model were built and released, the old three were built again.
    expect(counts).toEqual({ created: 3 + 2 + 3, released: 3 + 2 });
    // Rebuilt from the source it was opened from: no second download.
    expect(opened.map((o) => o.ref)).toEqual([local('good'), local('broken')]);
    const status = await engine.status();
    expect(status.model).toEqual(loaded.model);
    expect(status.memoryEstimateBytes).toBe(loaded.memoryEstimateBytes);
    expect((await engine.chat(ask)).message.content).toBe(before.message.content);
  });

  it('an abort while building rejects with AbortError and rebuilds the previous model', async () => {
    const { engine } = harness();
    await engine.load(local('good'), { dtype: 'fp32' });
    const controller = new AbortController();
    const err = await engine
      .load(
        local('other'),
        { dtype: 'fp32' },
        {
          signal: controller.signal,
          onEvent: (e) => {
            if (e.kind === 'session') controller.abort();
          },
        },
      )
      .catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect((await engine.status()).model?.id).toBe('good');
    expect((await engine.chat(ask)).usage.completionTokens).toBe(6);
  });

  it('says no model is loaded when even the previous one cannot be rebuilt', async () => {
    const { runtime, counts } = countingOrt();
    let rebuildFails = false;
    const engine = createEngine({
      ort: {
        Tensor: runtime.Tensor,
        InferenceSession: {
          create: ((...args: Parameters<typeof ort.InferenceSession.create>) =>
            rebuildFails && String(args[0] as unknown).includes('vision_encoder')
              ? Promise.reject(new Error('device gone'))
              : runtime.InferenceSession.create(...args)) as typeof ort.InferenceSession.create,
        },
      },
      openSource: async (ref) => {
        const id = ref.kind === 'local' ? ref.id : '';
        if (id === 'broken') rebuildFails = true;
        return id === 'broken' ? brokenDecoderSource(id) : folderSource(dir, id);
      },
      decodeImage: () => Promise.reject(new EngineError('bad-image', 'no files here')),
      selectBackend: async () => CPU_BACKEND,
    });
    await engine.load(local('good'), { dtype: 'fp32' });
    // The broken model's own vision encoder fails first here, so its error is what the caller sees.
    await expect(engine.load(local('broken'), { dtype: 'fp32' })).rejects.toMatchObject({
      code: 'bad-model',
    });
    expect((await engine.status()).model).toBeNull();
    expect(counts.created).toBe(counts.released);
    await expect(engine.chat(ask)).rejects.toMatchObject({ code: 'model-not-loaded' });
  });

  it("hands openSource the load's dtype choice (so a store fetches only those graphs)", async () => {
    const { engine, opened } = harness();
    await engine.load(local('good'), { dtype: { decoder_model_merged: 'fp32' } });
    await engine.load(local('good'));
    expect(opened.map((o) => o.dtype)).toEqual([{ decoder_model_merged: 'fp32' }, undefined]);
  });
});
