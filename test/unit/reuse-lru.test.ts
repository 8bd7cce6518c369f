// The KV cache budget: caches of recently used conversations are kept within a byte budget (least recently used
// dropped first, the active one cut to the prefix that fits), the budget can change at run time, and a conversation
// whose cache was evicted still answers exactly like one that kept it. (Turns are not closed ahead here, so cached
// positions are exactly each turn's prompt and answer.)
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, ChatRequest, EngineApi } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { imageQuestion, loadedEngine, picture } from './engine-helpers';
import { cachedAfter, followUp } from './reuse-helpers';

const ask = (
  messages: ChatMessage[],
  conversationId: string,
  extra: Partial<ChatRequest> = {},
): ChatRequest => ({
  messages,
  sampling: { maxNewTokens: 8 },
  conversationId,
  ...extra,
});

async function cacheOf(engine: EngineApi) {
  const cache = (await engine.status()).cache;
  if (!cache) throw new Error('the engine reports no cache status');
  return cache;
}

describe('KV cache budget (tiny, greedy)', () => {
  let dir: string;
  const hA = [imageQuestion(picture(40, 24, 1), 'What is in the picture?')];
  const hB = [imageQuestion(picture(24, 40, 2), 'Describe this one.')];
  /** KV bytes of one cached position of the tiny model, measured on an engine without limits. */
  let perToken = 0;

  beforeAll(async () => {
    dir = getTinyModel('tiny').dir;
    const probe = await loadedEngine(dir, {
      kvCacheBudgetBytes: Number.POSITIVE_INFINITY,
      prefeedNextTurn: false,
    });
    const a = await probe.chat(ask(hA, 'a'));
    perToken = (await cacheOf(probe)).kvBytes / cachedAfter(a);
    // 2 layers × (key + value) × 2 kv heads × head_dim 16 × 4 bytes.
    expect(perToken).toBe(512);
  });

  it('evicts the least recently used conversation under a small budget; its next turn is still correct', async () => {
    const unlimited = await loadedEngine(dir, {
      kvCacheBudgetBytes: Number.POSITIVE_INFINITY,
      prefeedNextTurn: false,
    });
    const a1 = await unlimited.chat(ask(hA, 'a'));
    const b1 = await unlimited.chat(ask(hB, 'b'));
    expect((await cacheOf(unlimited)).conversations).toBe(2);

    // Room for one conversation, not two.
    const budget = Math.ceil(1.5 * Math.max(cachedAfter(a1), cachedAfter(b1)) * perToken);
    const small = await loadedEngine(dir, { kvCacheBudgetBytes: budget, prefeedNextTurn: false });
    expect((await small.chat(ask(hA, 'a'))).message.content).toBe(a1.message.content);
    expect((await cacheOf(small)).conversations).toBe(1);
    expect((await small.chat(ask(hB, 'b'))).message.content).toBe(b1.message.content);
    const afterB = await cacheOf(small);
    expect(afterB.conversations).toBe(1);
    expect(afterB.kvBytes).toBe(cachedAfter(b1) * perToken);
    expect(afterB.kvBytes).toBeLessThanOrEqual(budget);

    // 'a' was evicted: its follow-up prefills everything again and answers like the engine that kept it.
    const hA2 = followUp(hA, a1.message.content, 'And the colours?');
    const kept = await unlimited.chat(ask(hA2, 'a'));
    expect(kept.usage.reusedPromptTokens).toBe(cachedAfter(a1));
    const evicted = await small.chat(ask(hA2, 'a'));
    expect(evicted.usage.reusedPromptTokens).toBe(0);
    expect(evicted.message.content).toBe(kept.message.content);

    // 'b' was evicted in turn by that follow-up, 'a' is cached.
    const hB2 = followUp(hB, b1.message.content, 'Anything else?');
    expect((await small.chat(ask(hB2, 'b'))).usage.reusedPromptTokens).toBe(0);
  });

  it('cuts the active conversation to the prefix that fits when it alone is over budget', async () => {
    const unlimited = await loadedEngine(dir, {
      kvCacheBudgetBytes: Number.POSITIVE_INFINITY,
      prefeedNextTurn: false,
    });
    const engine = await loadedEngine(dir, {
      kvCacheBudgetBytes: Number.POSITIVE_INFINITY,
      prefeedNextTurn: false,
    });
    const a1 = await engine.chat(ask(hA, 'a'));
    await unlimited.chat(ask(hA, 'a'));
    const keep = 20;
    // Set from the chat request (the settings panel's path): applies at once and after the turn.
    const hA2 = followUp(hA, a1.message.content, 'Why?');
    const a2 = await engine.chat(ask(hA2, 'a', { kvCacheBudgetBytes: keep * perToken }));
    // The new budget first cut the cache before this turn ran, so only `keep` positions were reused.
    expect(a2.usage.reusedPromptTokens).toBe(keep);
    expect((await cacheOf(engine)).kvBytes).toBe(keep * perToken);
    expect((await cacheOf(engine)).kvBudgetBytes).toBe(keep * perToken);
    expect(a2.message.content).toBe((await unlimited.chat(ask(hA2, 'a'))).message.content);

    // A budget of 0 keeps nothing between turns.
    const a3 = await engine.chat(
      ask(followUp(hA2, a2.message.content, 'Sure?'), 'a', { kvCacheBudgetBytes: 0 }),
    );
    expect(a3.usage.reusedPromptTokens).toBe(0);
    expect(await cacheOf(engine)).toMatchObject({ kvBytes: 0, conversations: 0 });
  });

  it('takes the budget from the load options', async () => {
    const engine = await loadedEngine(dir, { prefeedNextTurn: false });
    await engine.load({ kind: 'local', id: 'test' }, { dtype: 'fp32', kvCacheBudgetBytes: 0 });
    expect((await cacheOf(engine)).kvBudgetBytes).toBe(0);
    await engine.chat(ask(hA, 'a'));
    const again = await engine.chat(ask(hA, 'a'));
    expect(again.usage.reusedPromptTokens).toBe(0);
  });
});
