// The answer budget is clamped to the room left in the context window: a long answer ends with 'length' when the
// window is full (prompt + answer = context), and 'context-overflow' is kept for a prompt that leaves no room for
// even one new token. The demo model has a 512-token window and the default budget is 512 tokens.
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_NEW_TOKENS } from '../../src/engine/engine';
import type { ChatMessage, EngineApi } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { loadedEngine } from './engine-helpers';

const CONTEXT = 512;
let engine: EngineApi;
/** Prompt tokens of a one-word question; every further 'picture' adds one token (checked below). */
let base: number;

const words = (n: number): ChatMessage[] => [{ role: 'user', content: 'picture '.repeat(n).trim() }];

beforeAll(async () => {
  engine = await loadedEngine(getTinyModel('tiny').dir);
  const one = await engine.chat({ messages: words(1), sampling: { maxNewTokens: 1, temperature: 0 } });
  const two = await engine.chat({ messages: words(2), sampling: { maxNewTokens: 1, temperature: 0 } });
  expect(two.usage.promptTokens - one.usage.promptTokens).toBe(1);
  base = one.usage.promptTokens - 1;
});

describe('answer budget vs context window', () => {
  it('the default budget is larger than the demo window, and the status says so', async () => {
    expect(DEFAULT_MAX_NEW_TOKENS).toBeGreaterThanOrEqual(CONTEXT);
    expect((await engine.status()).model?.contextLength).toBe(CONTEXT);
  });

  it('a default-budget answer fills the window exactly and ends with length, not an error', async () => {
    const r = await engine.chat({ conversationId: 'long', messages: words(1), sampling: { temperature: 0 } });
    expect(r.finishReason).toBe('length');
    expect(r.usage.promptTokens + r.usage.completionTokens).toBe(CONTEXT);
  });

  it('a prompt one token short of the window gets a one-token answer with length', async () => {
    const r = await engine.chat({ messages: words(CONTEXT - 1 - base), sampling: { temperature: 0 } });
    expect(r.usage.promptTokens).toBe(CONTEXT - 1);
    expect(r.usage.completionTokens).toBe(1);
    expect(r.finishReason).toBe('length');
  });

  it('a prompt that fills the window is context-overflow, with the numbers', async () => {
    const err = await engine
      .chat({ messages: words(CONTEXT - base), sampling: { maxNewTokens: 1 } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'EngineError',
      code: 'context-overflow',
      details: { promptTokens: CONTEXT, contextLength: CONTEXT },
    });
  });

  it('a follow-up to a window-filling answer overflows; one to a shorter answer is answered', async () => {
    const question = words(1);
    const full = await engine.chat({ conversationId: 'c', messages: question, sampling: { temperature: 0 } });
    const after = (answer: string): ChatMessage[] => [
      ...question,
      { role: 'assistant', content: answer },
      { role: 'user', content: 'And then?' },
    ];
    await expect(
      engine.chat({ conversationId: 'c', messages: after(full.message.content) }),
    ).rejects.toMatchObject({ code: 'context-overflow' });

    const short = await engine.chat({
      conversationId: 'd',
      messages: question,
      sampling: { temperature: 0, maxNewTokens: 100 },
    });
    const next = await engine.chat({
      conversationId: 'd',
      messages: after(short.message.content),
      sampling: { temperature: 0 },
    });
    expect(next.finishReason).toBe('length');
    expect(next.usage.promptTokens + next.usage.completionTokens).toBe(CONTEXT);
    expect(next.usage.reusedPromptTokens).toBeGreaterThan(0);
  });
});
