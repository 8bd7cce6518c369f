// Prefix reuse across turns: a follow-up prefills only its new tokens (the engine feeds its own answer ids back, and
// runs the opening of the next user turn ahead), and regenerate / edit cut the KV cache to the longest shared prefix.
// Every answer must equal the one of an engine that keeps no KV between turns and so prefills the same ids from scratch
// each time (greedy decoding).
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, ChatRequest, ChatResult, EngineApi } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { imageQuestion, loadedEngine, picture } from './engine-helpers';
import { cachedAfter, followUp } from './reuse-helpers';

const MAX_NEW = 12;
const QUESTIONS = ['What is in the picture?', 'Tell me more about the colours.', 'Say it again in one word.'];

/** The same request to the reusing engine and to the one without a cache; answers must agree. */
async function both(reusing: EngineApi, fresh: EngineApi, request: ChatRequest) {
  const withReuse = await reusing.chat(request);
  const recomputed = await fresh.chat(request);
  expect(recomputed.usage.reusedPromptTokens).toBe(0);
  expect(withReuse.message.content).toBe(recomputed.message.content);
  expect(withReuse.usage.completionTokens).toBe(recomputed.usage.completionTokens);
  expect(withReuse.usage.promptTokens).toBe(recomputed.usage.promptTokens);
  return withReuse;
}

for (const preset of ['tiny', 'tiny-qwen-siglip'] as const) {
  describe(`prefix reuse (${preset}, greedy)`, () => {
    let dir: string;
    let reusing: EngineApi;
    let fresh: EngineApi;
    const image = picture(40, 24, 3);
    const ask = (messages: ChatMessage[], extra: Partial<ChatRequest> = {}): ChatRequest => ({
      messages,
      sampling: { maxNewTokens: MAX_NEW },
      conversationId: 'c',
      ...extra,
    });

    beforeAll(async () => {
      dir = getTinyModel(preset).dir;
      // Closing turns ahead is tested on its own below; here the counts are exactly those of the cached answers.
      reusing = await loadedEngine(dir, { prefeedNextTurn: false });
      fresh = await loadedEngine(dir, { kvCacheBudgetBytes: 0 });
    });

    it('follow-ups prefill only their new tokens; regenerate and edit cut the cache and continue', async () => {
      const h1 = [imageQuestion(image, QUESTIONS[0] as string)];
      const a1 = await both(reusing, fresh, ask(h1));
      expect(a1.usage.reusedPromptTokens).toBe(0);
      expect(a1.message.content.length).toBeGreaterThan(0);

      // Turn 2 and 3: everything the cache holds (prompt and the answer's own ids) is reused.
      const h2 = followUp(h1, a1.message.content, QUESTIONS[1] as string);
      const a2 = await both(reusing, fresh, ask(h2));
      expect(a2.usage.reusedPromptTokens).toBe(cachedAfter(a1));
      expect(a2.usage.reusedPromptTokens).toBeGreaterThan(a1.usage.promptTokens);
      const h3 = followUp(h2, a2.message.content, QUESTIONS[2] as string);
      const a3 = await both(reusing, fresh, ask(h3));
      expect(a3.usage.reusedPromptTokens).toBe(cachedAfter(a2));

      // Regenerate the last answer: the whole prompt but its last token comes from the cache.
      const r3 = await both(reusing, fresh, ask(h3));
      expect(r3.usage.reusedPromptTokens).toBe(a3.usage.promptTokens - 1);
      expect(r3.message.content).toBe(a3.message.content);

      // Regenerate an earlier answer: the cache (turn 3's prompt and answer) is cut back to turn 2's prompt.
      const r2 = await both(reusing, fresh, ask(h2));
      expect(r2.usage.reusedPromptTokens).toBe(a2.usage.promptTokens - 1);
      expect(r2.message.content).toBe(a2.message.content);

      // Edit the second question: the cache is cut where the ids part, after the first answer.
      const e2 = await both(reusing, fresh, ask(followUp(h1, a1.message.content, 'Describe the shapes.')));
      expect(e2.usage.reusedPromptTokens).toBeGreaterThanOrEqual(cachedAfter(a1));
      expect(e2.usage.reusedPromptTokens).toBeLessThan(a2.usage.promptTokens - 1);
      expect(e2.message.content).not.toBe(a2.message.content);

      // …and the conversation goes on from the edited turn with full reuse again.
      const h3e = followUp(
        followUp(h1, a1.message.content, 'Describe the shapes.'),
        e2.message.content,
        'Why?',
      );
      const a3e = await both(reusing, fresh, ask(h3e));
      expect(a3e.usage.reusedPromptTokens).toBe(cachedAfter(e2));
    });

    it('an edited first question keeps the cached image rows and answers like a brand-new engine', async () => {
      const first = await both(
        reusing,
        fresh,
        ask([imageQuestion(image, 'What is it?')], { conversationId: 'e' }),
      );
      const edited = [imageQuestion(image, 'Which colours?')];
      const e1 = await both(reusing, fresh, ask(edited, { conversationId: 'e' }));
      const image16 = 16; // the tiny presets' image rows
      expect(e1.usage.reusedPromptTokens).toBeGreaterThan(image16);
      expect(e1.usage.reusedPromptTokens).toBeLessThan(first.usage.promptTokens - 1);
      const brandNew = await (await loadedEngine(dir)).chat(ask(edited));
      expect(e1.message.content).toBe(brandNew.message.content);
    });

    it('an answer cut by a stop string is tokenised from its text next turn, still matching a full recompute', async () => {
      const h1 = [imageQuestion(image, QUESTIONS[1] as string)];
      const probe = await (
        await loadedEngine(dir)
      ).chat({ messages: h1, sampling: { maxNewTokens: MAX_NEW } });
      const stop = probe.message.content.slice(4, 6);
      expect(stop.length).toBe(2);
      const request = ask(h1, { conversationId: 's', sampling: { maxNewTokens: MAX_NEW, stop: [stop] } });
      const a1: ChatResult = await both(reusing, fresh, request);
      expect(a1.message.content.length).toBeLessThan(probe.message.content.length);
      const a2 = await both(
        reusing,
        fresh,
        ask(followUp(h1, a1.message.content, 'More?'), { conversationId: 's' }),
      );
      // At least the whole first prompt came from the cache, though not every answer id.
      expect(a2.usage.reusedPromptTokens).toBeGreaterThanOrEqual(a1.usage.promptTokens - 1);
      expect(a2.usage.reusedPromptTokens).toBeLessThan(cachedAfter(a1));
    });

    it('closes each turn ahead: the next one reuses the end-of-turn and the opening of its user message too', async () => {
      const ahead = await loadedEngine(dir);
      const h1 = [imageQuestion(image, QUESTIONS[0] as string)];
      const a1 = await both(ahead, fresh, ask(h1, { conversationId: 'p' }));
      const h2 = followUp(h1, a1.message.content, QUESTIONS[1] as string);
      const a2 = await both(ahead, fresh, ask(h2, { conversationId: 'p' }));
      // The answer's last token and the end-of-turn mark at least, and never the new question's own words.
      expect(a2.usage.reusedPromptTokens).toBeGreaterThanOrEqual(cachedAfter(a1) + 2);
      expect(a2.usage.reusedPromptTokens).toBeLessThan(a2.usage.promptTokens - 4);
      const a3 = await both(
        ahead,
        fresh,
        ask(followUp(h2, a2.message.content, 'Why?'), { conversationId: 'p' }),
      );
      expect(a3.usage.reusedPromptTokens).toBeGreaterThanOrEqual(cachedAfter(a2) + 2);
      // Regenerating after a turn was closed ahead cuts the extra ids away again.
      const r2 = await both(ahead, fresh, ask(h2, { conversationId: 'p' }));
      expect(r2.usage.reusedPromptTokens).toBe(a2.usage.promptTokens - 1);
      expect(r2.message.content).toBe(a2.message.content);
    });
  });
}
