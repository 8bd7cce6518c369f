// A chat reopened after a reload continues as it would have without the reload: the app keeps each answer's
// generated ids (ChatResult.message.tokens) and sends them back, so a fresh engine feeds the model exactly what it
// wrote instead of re-tokenising the text (which, on the demo model, gives many more ids and overflows the window).
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, ChatRequest, EngineApi } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { imageQuestion, loadedEngine, picture } from './engine-helpers';

describe('a reloaded chat continues (tiny demo model, 512-token window, greedy)', () => {
  let live: EngineApi;
  let reloaded: EngineApi;
  const image = picture(36, 28, 3);
  const ask = (messages: ChatMessage[], conversationId: string, maxNewTokens = 200): ChatRequest => ({
    messages,
    sampling: { temperature: 0, maxNewTokens },
    conversationId,
    contextOverflow: 'drop-oldest-turns',
  });

  beforeAll(async () => {
    const dir = getTinyModel('tiny').dir;
    live = await loadedEngine(dir);
    reloaded = await loadedEngine(dir);
  });

  it('feeds the stored ids back: the same prompt and answer as the chat that never reloaded', async () => {
    const first = [imageQuestion(image, 'Describe it.')];
    const a1 = await live.chat(ask(first, 'chat'));
    expect(a1.message.tokens?.ids.length).toBe(a1.usage.completionTokens);
    const follow = (answer: ChatMessage): ChatMessage[] => [
      ...first,
      answer,
      { role: 'user', content: 'And the colours?' },
    ];
    const tokens = a1.message.tokens;
    if (!tokens) throw new Error('the answer came back without its ids');
    const withIds: ChatMessage = {
      role: 'assistant',
      content: a1.message.content,
      tokens,
    };
    const liveNext = await live.chat(ask(follow(withIds), 'chat'));
    // After a reload: a fresh engine, no transcript, no cache; only what the app stored.
    const next = await reloaded.chat(ask(follow(withIds), 'chat'));
    expect(next.usage.droppedMessages).toBeUndefined();
    expect(next.usage.promptTokens).toBe(liveNext.usage.promptTokens);
    expect(next.message.content).toBe(liveNext.message.content);
    // Without the ids the text tokenises into more ids than the model wrote, and the first answer must go.
    const plain = await reloaded.chat(
      ask(follow({ role: 'assistant', content: a1.message.content }), 'plain'),
    );
    expect(plain.usage.droppedMessages ?? 0).toBeGreaterThan(0);
    // Ids of another model are not used.
    const other = await reloaded.chat(
      ask(follow({ ...withIds, tokens: { model: 'another', ids: tokens.ids } }), 'other'),
    );
    expect(other.usage.promptTokens).toBe(plain.usage.promptTokens);
  });
});
