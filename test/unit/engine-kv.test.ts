// Conversation KV caches: longest-common-prefix reuse across turns (image identity included), truncation of the
// tensors, forgetting and eviction; reuse must give exactly the answer of a full recompute.
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConversationKv, KvCacheStore, type ImageSpan } from '../../src/engine/kv-cache';
import type { ChatMessage } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { imageQuestion, loadedEngine, picture } from './engine-helpers';

function kvTensor(seq: number, fill: (h: number, s: number, d: number) => number) {
  const data = new Float32Array(2 * seq * 3);
  for (let h = 0; h < 2; h++)
    for (let s = 0; s < seq; s++) for (let d = 0; d < 3; d++) data[(h * seq + s) * 3 + d] = fill(h, s, d);
  return new ort.Tensor('float32', data, [1, 2, seq, 3]);
}

describe('ConversationKv', () => {
  const span = (start: number, length: number, key: string): ImageSpan => ({ start, length, key });

  it('finds the longest common prefix of ids, cut at the start of an image that changed', () => {
    const kv = new ConversationKv();
    kv.append(
      new Map([['past_key_values.0.key', kvTensor(8, () => 0)]]),
      [1, 5, 9, 9, 9, 7, 4, 3],
      [span(2, 3, 'A')],
    );
    expect(kv.commonPrefix([1, 5, 9, 9, 9, 7, 4, 3, 8], [span(2, 3, 'A')])).toBe(8);
    expect(kv.commonPrefix([1, 5, 9, 9, 9, 7, 6], [span(2, 3, 'A')])).toBe(6);
    expect(kv.commonPrefix([1, 5, 9, 9, 9, 7, 4, 3], [span(2, 3, 'B')])).toBe(2);
    expect(kv.commonPrefix([2, 5], [])).toBe(0);
    kv.clear();
    expect(kv.length).toBe(0);
  });

  it('truncates every tensor to the first n positions of the sequence axis', async () => {
    const kv = new ConversationKv();
    const value = (h: number, s: number, d: number) => h * 100 + s * 10 + d;
    kv.append(
      new Map([
        ['past_key_values.0.key', kvTensor(5, value)],
        ['past_key_values.0.value', kvTensor(5, (h, s, d) => -value(h, s, d))],
      ]),
      [1, 2, 3, 4, 5],
    );
    await kv.truncate(ort, 3);
    expect(kv.tokens).toEqual([1, 2, 3]);
    const key = kv.past?.get('past_key_values.0.key');
    expect(key?.dims).toEqual([1, 2, 3, 3]);
    expect(Array.from(key?.data as Float32Array)).toEqual(
      Array.from(kvTensor(3, value).data as Float32Array),
    );
    expect((kv.past?.get('past_key_values.0.value')?.data as Float32Array)[5]).toBe(-(0 + 10 + 2));
  });

  it('the store keeps the most recently used conversations and forgets on request', () => {
    const store = new KvCacheStore(2);
    const a = store.take('a');
    a.append(new Map([['k', kvTensor(1, () => 1)]]), [1]);
    store.take('b');
    store.take('c');
    expect(store.size).toBe(2);
    expect(a.length).toBe(0);
    store.forget('b');
    expect(store.size).toBe(1);
    store.forget();
    expect(store.size).toBe(0);
  });
});

describe('engine multi-turn reuse', () => {
  let dir: string;
  const turn1 = (img = picture(40, 24)): ChatMessage[] => [imageQuestion(img, 'What is in the picture?')];
  const turn2 = (answer: string, img = picture(40, 24)): ChatMessage[] => [
    ...turn1(img),
    { role: 'assistant', content: answer },
    { role: 'user', content: 'Tell me more about the colours.' },
  ];

  beforeAll(() => {
    dir = getTinyModel('tiny').dir;
  });

  it('a follow-up reuses the cached prompt (image included) and answers exactly like a full recompute', async () => {
    const engine = await loadedEngine(dir);
    const first = await engine.chat({
      messages: turn1(),
      sampling: { maxNewTokens: 10 },
      conversationId: 'x',
    });
    expect(first.usage.reusedPromptTokens).toBe(0);
    const second = await engine.chat({
      messages: turn2(first.message.content),
      sampling: { maxNewTokens: 10 },
      conversationId: 'x',
    });
    // At least the first turn's whole prompt (system, image rows, question) came from the cache.
    expect(second.usage.reusedPromptTokens).toBeGreaterThanOrEqual(first.usage.promptTokens);
    // The full recompute: an engine that keeps no KV between turns but, like the first, feeds its own answer ids back.
    const noKv = await loadedEngine(dir, { kvCacheBudgetBytes: 0 });
    await noKv.chat({ messages: turn1(), sampling: { maxNewTokens: 10 }, conversationId: 'x' });
    const fresh = await noKv.chat({
      messages: turn2(first.message.content),
      sampling: { maxNewTokens: 10 },
      conversationId: 'x',
    });
    expect(fresh.usage.reusedPromptTokens).toBe(0);
    expect(second.message.content).toBe(fresh.message.content);
  });

  it('a different image in the same conversation is not mistaken for the cached one', async () => {
    const engine = await loadedEngine(dir);
    const first = await engine.chat({
      messages: turn1(),
      sampling: { maxNewTokens: 4 },
      conversationId: 'y',
    });
    const other = picture(40, 24, 7);
    const second = await engine.chat({
      messages: turn2(first.message.content, other),
      sampling: { maxNewTokens: 10 },
      conversationId: 'y',
    });
    const fresh = await (
      await loadedEngine(dir)
    ).chat({
      messages: turn2(first.message.content, other),
      sampling: { maxNewTokens: 10 },
    });
    expect(second.message.content).toBe(fresh.message.content);
    // Only the text before the image can be reused (system prompt and "USER:").
    expect(second.usage.reusedPromptTokens).toBeLessThan(first.usage.promptTokens - 16);
  });

  it('forget() drops the cache of a conversation', async () => {
    const engine = await loadedEngine(dir);
    await engine.chat({ messages: turn1(), sampling: { maxNewTokens: 4 }, conversationId: 'z' });
    const again = await engine.chat({
      messages: turn1(),
      sampling: { maxNewTokens: 4 },
      conversationId: 'z',
    });
    expect(again.usage.reusedPromptTokens).toBe(again.usage.promptTokens - 1);
    await engine.forget('z');
    const afterForget = await engine.chat({
      messages: turn1(),
      sampling: { maxNewTokens: 4 },
      conversationId: 'z',
    });
    expect(afterForget.usage.reusedPromptTokens).toBe(0);
    expect(afterForget.message.content).toBe(again.message.content);
  });
});
