// The image-feature cache: a picture already seen (later turn, or another conversation) is keyed by its content, not
// re-encoded, and its cached features are exactly what a fresh encode gives. Encoder runs are counted.
import { describe, expect, it } from 'vitest';
import { FeatureCache, imageKey } from '../../src/engine/feature-cache';
import { preprocessImage } from '../../src/engine/image-preprocess';
import { loadModel } from '../../src/engine/model-loader';
import { buildTurnInput } from '../../src/engine/turn-input';
import { folderSource } from '../../src/node/folder-source';
import type { ChatRequest, RawImage } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { CPU_BACKEND, imageQuestion, loadedEngine, picture } from './engine-helpers';
import { countedEngine, countingOrt, followUp } from './reuse-helpers';

/** The same pixels in a new buffer, as a UI sends them again on the next turn. */
const copyOf = (image: RawImage): RawImage => ({ ...image, data: new Uint8ClampedArray(image.data) });

const ask = (request: Omit<ChatRequest, 'sampling'>): ChatRequest => ({
  ...request,
  sampling: { maxNewTokens: 6 },
});

describe('image-feature cache (tiny)', () => {
  it('encodes a picture once across turns and conversations, and answers as with a fresh encode', async () => {
    const dir = getTinyModel('tiny').dir;
    const { engine, log } = await countedEngine(dir);
    const photo = picture(48, 40, 5);
    const h1 = [imageQuestion(photo, 'What is this?')];
    const a1 = await engine.chat(ask({ messages: h1, conversationId: 'one' }));
    expect(log.runs.vision).toBe(1);
    await engine.chat(ask({ messages: followUp(h1, a1.message.content, 'More?'), conversationId: 'one' }));
    expect(log.runs.vision).toBe(1);

    // Another conversation, the same picture handed over as a new buffer: its features come from the cache.
    const other = [imageQuestion(copyOf(photo), 'Is it a cat?')];
    const cached = await engine.chat(ask({ messages: other, conversationId: 'two' }));
    expect(log.runs.vision).toBe(1);
    const encodedAfresh = await (await loadedEngine(dir)).chat(ask({ messages: other }));
    expect(cached.message.content).toBe(encodedAfresh.message.content);

    // A different picture is encoded.
    await engine.chat(
      ask({ messages: [imageQuestion(picture(48, 40, 6), 'And this?')], conversationId: 'three' }),
    );
    expect(log.runs.vision).toBe(2);
    // forget() without an id drops the features too.
    await engine.forget();
    await engine.chat(ask({ messages: other, conversationId: 'two' }));
    expect(log.runs.vision).toBe(3);
  });

  it('a reused feature equals a fresh encode of the same pixels, without running the encoder again', async () => {
    const dir = getTinyModel('tiny').dir;
    const { ort, log } = countingOrt();
    const model = await loadModel({ ort, source: folderSource(dir), backend: CPU_BACKEND, dtype: 'fp32' });
    const cache = new FeatureCache();
    const photo = picture(36, 52, 8);
    const keyed = async (image: RawImage) => ({
      key: await imageKey(image),
      preprocess: () => preprocessImage(image, model.config.image),
    });
    const messages = [imageQuestion(photo, 'What is this?')];
    const first = await buildTurnInput(model, messages, 'model', [await keyed(photo)], cache);
    expect(log.runs.vision).toBe(1);
    const again = await buildTurnInput(model, messages, 'model', [await keyed(copyOf(photo))], cache);
    expect(log.runs.vision).toBe(1);
    const fresh = await model.vision.encode(preprocessImage(photo, model.config.image));
    expect(log.runs.vision).toBe(2);
    const reused = again.features[0];
    expect(reused?.rows).toBe(fresh.rows);
    expect(reused?.dim).toBe(fresh.dim);
    expect(Array.from(reused?.data ?? [])).toEqual(Array.from(fresh.data));
    expect(again.ids).toEqual(first.ids);
    await model.release();
  });

  it('keys images by content and size: one changed byte or another shape is another image', async () => {
    const photo = picture(20, 10, 1);
    const key = await imageKey(photo);
    expect(await imageKey(copyOf(photo))).toBe(key);
    const changed = copyOf(photo);
    changed.data[123] = ((changed.data[123] as number) + 1) % 256;
    expect(await imageKey(changed)).not.toBe(key);
    expect(await imageKey({ width: 10, height: 20, data: photo.data })).not.toBe(key);
  });

  it('stays within its count and byte bounds, dropping the least recently used features', () => {
    const f = (n: number) => ({ data: new Float32Array(n), type: 'float32' as const, rows: 1, dim: n });
    const cache = new FeatureCache(3, 1000);
    cache.set('a', f(50));
    cache.set('b', f(50));
    cache.set('c', f(50));
    expect(cache.get('a')).toBeDefined();
    cache.set('d', f(50));
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    cache.set('e', f(200)); // 800 bytes: only it and one 200-byte entry fit in 1000
    expect(cache.totalBytes).toBeLessThanOrEqual(1000);
    expect(cache.get('e')).toBeDefined();
    expect(cache.get('a')).toBeUndefined();
  });
});
