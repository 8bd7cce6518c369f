// The engine through its public API on a generated tiny LLaVA: answers with usage, batched events, abort without
// reload, EOS and stop strings, limits and the error codes a user can meet.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { TextBatcher } from '../../src/engine/event-batcher';
import { generateTurn } from '../../src/engine/generate';
import { preprocessImage } from '../../src/engine/image-preprocess';
import { ConversationKv } from '../../src/engine/kv-cache';
import { loadModel } from '../../src/engine/model-loader';
import { buildTurnInput } from '../../src/engine/turn-input';
import { folderSource } from '../../src/node/folder-source';
import { isAbortError } from '../../src/shared/abort';
import type { ChatMessage, GenerationEvent, LoadProgressEvent } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import {
  CPU_BACKEND,
  folderEngine,
  greedyTurnOptions,
  imageQuestion,
  loadedEngine,
  picture,
  withJson,
} from './engine-helpers';

let dir: string;
const question = (): ChatMessage[] => [imageQuestion(picture(40, 24), 'What is in the picture?')];

beforeAll(() => {
  dir = getTinyModel('tiny').dir;
});

describe('engine chat', () => {
  it('loads with progress events and reports its status', async () => {
    const engine = folderEngine(dir);
    const events: LoadProgressEvent[] = [];
    const status = await engine.load(
      { kind: 'local', id: 'x' },
      { dtype: 'fp32' },
      { onEvent: (e) => events.push(e) },
    );
    expect(status.model?.dtype).toEqual({
      vision_encoder: 'fp32',
      embed_tokens: 'fp32',
      decoder_model_merged: 'fp32',
    });
    expect(status.model?.contextLength).toBe(512);
    expect(status.backend).toBe('cpu');
    expect(status.memoryEstimateBytes).toBeGreaterThan(100_000);
    expect(events.filter((e) => e.kind === 'session').map((e) => e.file)).toEqual([
      'onnx/vision_encoder.onnx',
      'onnx/embed_tokens.onnx',
      'onnx/decoder_model_merged.onnx',
    ]);
    const last = events.at(-1);
    expect(last?.kind).toBe('ready');
    expect(last?.loaded).toBe(status.memoryEstimateBytes);
    expect(last?.total).toBe(last?.loaded);
  });

  it('answers with text, usage and token events that add up to the answer', async () => {
    const engine = await loadedEngine(dir);
    const events: GenerationEvent[] = [];
    const r = await engine.chat(
      { messages: question(), sampling: { maxNewTokens: 12 } },
      { onEvent: (e) => events.push(e) },
    );
    expect(r.finishReason).toBe('length');
    expect(r.usage.completionTokens).toBe(12);
    expect(r.usage.promptTokens).toBeGreaterThan(16);
    expect(r.usage.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(r.usage.decodeTokensPerS).toBeGreaterThan(0);
    expect(r.message.content.length).toBeGreaterThan(0);
    const tokens = events.filter((e): e is { kind: 'token'; text: string } => e.kind === 'token');
    expect(tokens.map((e) => e.text).join('')).toBe(r.message.content);
    expect(events.at(-1)).toEqual({ kind: 'done', usage: r.usage, finishReason: 'length' });
  });

  it('batches token events: with a long interval, the first delta then one flush at the end', async () => {
    const engine = await loadedEngine(dir, { tokenEventIntervalMs: 1e9 });
    const events: GenerationEvent[] = [];
    const r = await engine.chat(
      { messages: question(), sampling: { maxNewTokens: 12 } },
      { onEvent: (e) => events.push(e) },
    );
    expect(events.map((e) => e.kind)).toEqual(['token', 'token', 'done']);
    expect(
      events
        .slice(0, 2)
        .map((e) => (e.kind === 'token' ? e.text : ''))
        .join(''),
    ).toBe(r.message.content);
  });

  it('TextBatcher sends at most one event per interval and flushes the rest', () => {
    let t = 0;
    const sent: string[] = [];
    const b = new TextBatcher(
      (s) => sent.push(s),
      () => t,
      16,
    );
    b.push('a');
    t = 5;
    b.push('b');
    t = 10;
    b.push('c');
    t = 16;
    b.push('d');
    t = 20;
    b.push('e');
    b.flush();
    expect(sent).toEqual(['a', 'bcd', 'e']);
  });

  it('is deterministic: greedy gives the same answer every time; a seed reproduces a sampled answer', async () => {
    const engine = await loadedEngine(dir);
    const a = await engine.chat({ messages: question(), sampling: { maxNewTokens: 10 } });
    const b = await engine.chat({ messages: question(), sampling: { maxNewTokens: 10 } });
    expect(b.message.content).toBe(a.message.content);
    const s1 = await engine.chat({
      messages: question(),
      sampling: { maxNewTokens: 10, temperature: 1, seed: 5 },
    });
    const s2 = await engine.chat({
      messages: question(),
      sampling: { maxNewTokens: 10, temperature: 1, seed: 5 },
    });
    expect(s2.message.content).toBe(s1.message.content);
  });

  it('aborts between tokens with an AbortError, keeps the model, and answers the next chat correctly', async () => {
    const engine = await loadedEngine(dir, { tokenEventIntervalMs: 0 });
    const controller = new AbortController();
    const events: GenerationEvent[] = [];
    const aborted = engine.chat(
      { messages: question(), sampling: { maxNewTokens: 40 }, conversationId: 'c' },
      {
        signal: controller.signal,
        onEvent: (e) => {
          events.push(e);
          if (e.kind === 'token') controller.abort();
        },
      },
    );
    await expect(aborted).rejects.toSatisfy(isAbortError);
    const done = events.at(-1);
    expect(done?.kind === 'done' && done.finishReason).toBe('abort');
    expect(done?.kind === 'done' && done.usage.completionTokens).toBeLessThan(40);
    expect((await engine.status()).model).not.toBeNull();
    // Same conversation again: the cache holds the aborted partial answer and must not leak into this one.
    const again = await engine.chat({
      messages: question(),
      sampling: { maxNewTokens: 12 },
      conversationId: 'c',
    });
    const fresh = await (
      await loadedEngine(dir)
    ).chat({ messages: question(), sampling: { maxNewTokens: 12 } });
    expect(again.message.content).toBe(fresh.message.content);
    expect(again.usage.reusedPromptTokens).toBe(again.usage.promptTokens - 1);
  });

  it('rejects an already aborted signal before doing any work', async () => {
    const engine = await loadedEngine(dir);
    await expect(engine.chat({ messages: question() }, { signal: AbortSignal.abort() })).rejects.toSatisfy(
      isAbortError,
    );
  });

  it('stops at the EOS of generation_config (a list) with finishReason stop', async () => {
    const engine = await loadedEngine(dir);
    const free = await engine.chat({ messages: question(), sampling: { maxNewTokens: 8 } });
    // Make the 4th token the model picks greedily an end-of-sequence token.
    const ids = await greedyIds(4);
    expect(ids).toHaveLength(4);
    const gen = JSON.parse(readFileSync(path.join(dir, 'generation_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const eosEngine = await loadedEngine(
      withJson(folderSource(dir), { 'generation_config.json': { ...gen, eos_token_id: [2, ids[3]] } }),
    );
    const r = await eosEngine.chat({ messages: question(), sampling: { maxNewTokens: 8 } });
    expect(r.finishReason).toBe('stop');
    expect(r.usage.completionTokens).toBe(4);
    expect(free.message.content.startsWith(r.message.content)).toBe(true);
    expect(r.message.content.length).toBeLessThan(free.message.content.length);
  });

  it('stops at a stop string and leaves it out of the answer', async () => {
    const engine = await loadedEngine(dir);
    const full = (await engine.chat({ messages: question(), sampling: { maxNewTokens: 16 } })).message
      .content;
    const stop = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 2);
    const cut = full.indexOf(stop);
    const r = await engine.chat({ messages: question(), sampling: { maxNewTokens: 16, stop: [stop] } });
    expect(r.finishReason).toBe('stop');
    expect(r.message.content).toBe(full.slice(0, cut));
  });

  it('throws model-not-loaded before load and after unload', async () => {
    const engine = folderEngine(dir);
    await expect(engine.chat({ messages: question() })).rejects.toMatchObject({ code: 'model-not-loaded' });
    await engine.load({ kind: 'local', id: 'x' }, { dtype: 'fp32' });
    await engine.unload();
    await expect(engine.chat({ messages: question() })).rejects.toMatchObject({ code: 'model-not-loaded' });
    expect((await engine.status()).model).toBeNull();
  });

  it('throws context-overflow with the numbers when the prompt does not fit', async () => {
    const engine = await loadedEngine(dir);
    const long = 'picture '.repeat(600);
    const err = await engine.chat({ messages: [{ role: 'user', content: long }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'context-overflow' });
    expect((err as Error).message).toMatch(/\d+ tokens long .* 512 tokens/);
  });

  it('throws bad-image for a truncated picture or one the decoder cannot read, and keeps working', async () => {
    const engine = await loadedEngine(dir);
    const broken = { width: 10, height: 10, data: new Uint8Array(7) };
    await expect(engine.chat({ messages: [imageQuestion(broken, 'hi')] })).rejects.toMatchObject({
      code: 'bad-image',
    });
    const blob = new Blob([new Uint8Array([1, 2, 3])]);
    await expect(
      engine.chat({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', image: blob },
              { type: 'text', text: 'hi' },
            ],
          },
        ],
      }),
    ).rejects.toMatchObject({ code: 'bad-image' });
    const ok = await engine.chat({ messages: question(), sampling: { maxNewTokens: 2 } });
    expect(ok.usage.completionTokens).toBe(2);
  });

  it('uses the decodeImage dependency for non-raw inputs', async () => {
    const img = picture(40, 24);
    const engine = await loadedEngine(dir, { decodeImage: async () => img });
    const viaBlob = await engine.chat({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', image: new Blob([]) },
            { type: 'text', text: 'What is in the picture?' },
          ],
        },
      ],
      sampling: { maxNewTokens: 6 },
    });
    const direct = await engine.chat({ messages: question(), sampling: { maxNewTokens: 6 } });
    expect(viaBlob.message.content).toBe(direct.message.content);
  });
});

/** The greedy ids of the first `n` answer tokens, from the engine's own turn pipeline. */
async function greedyIds(n: number): Promise<number[]> {
  const m = await loadModel({ ort, source: folderSource(dir), backend: CPU_BACKEND, dtype: 'fp32' });
  const input = await buildTurnInput(
    m,
    question(),
    'model',
    [preprocessImage(picture(40, 24), m.config.image)],
    null,
  );
  const r = await generateTurn(
    ort,
    m.decoder,
    m.config.text.hiddenSize,
    new ConversationKv(),
    input,
    greedyTurnOptions(m, n),
  );
  await m.release();
  return r.ids;
}
