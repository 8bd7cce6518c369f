// Working ahead on a draft: `prepare` encodes the draft's picture and prefills the conversation up to the end of its
// words, and the chat that sends the finished message prefills only the rest. Answers must equal those of an engine
// that keeps no cache (greedy), whatever the draft looked like before it was sent.
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, ChatRequest, ChatResult, EngineApi } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { imageQuestion, loadedEngine, picture } from './engine-helpers';
import { countedEngine, followUp } from './reuse-helpers';

const MAX_NEW = 10;

for (const preset of ['tiny', 'tiny-qwen-siglip'] as const) {
  describe(`work ahead on a draft (${preset}, greedy)`, () => {
    let dir: string;
    let fresh: EngineApi;
    const image = picture(36, 28, 5);
    const ask = (messages: ChatMessage[], conversationId = 'c'): ChatRequest => ({
      messages,
      sampling: { maxNewTokens: MAX_NEW },
      conversationId,
    });
    const freshAnswer = (messages: ChatMessage[]): Promise<ChatResult> => fresh.chat(ask(messages));
    /** A first turn on both engines, so that both hold the answer's own ids for the follow-ups. */
    const firstTurn = async (engine: EngineApi, h1: ChatMessage[], conversationId = 'c') => {
      const a1 = await engine.chat(ask(h1, conversationId));
      expect((await freshAnswer(h1)).message.content).toBe(a1.message.content);
      return a1;
    };

    beforeAll(async () => {
      dir = getTinyModel(preset).dir;
      fresh = await loadedEngine(dir, { kvCacheBudgetBytes: 0 });
    });

    it('a first message: the picture is encoded and prefilled while the words are typed', async () => {
      const { engine, log } = await countedEngine(dir, { prefeedNextTurn: false });
      const final = [imageQuestion(image, 'What colour is the square?')];
      // Only the picture so far: it is encoded, and the prompt up to the question's first word runs.
      const early = await engine.prepare(ask([imageQuestion(image, '')]));
      expect(log.runs.vision).toBe(1);
      expect(early.cachedTokens).toBeGreaterThan(0);
      // Typing on: only the new words run.
      const mid = await engine.prepare(ask([imageQuestion(image, 'What colour is')]));
      expect(mid.cachedTokens).toBeGreaterThan(early.cachedTokens);
      const decoderRuns = log.runs.decoder;
      // The same draft again is free.
      expect((await engine.prepare(ask([imageQuestion(image, 'What colour is')]))).cachedTokens).toBe(mid.cachedTokens);
      expect(log.runs.decoder).toBe(decoderRuns);

      const sent = await engine.chat(ask(final));
      const expected = await freshAnswer(final);
      expect(log.runs.vision).toBe(1);
      expect(sent.message.content).toBe(expected.message.content);
      expect(sent.usage.promptTokens).toBe(expected.usage.promptTokens);
      expect(sent.usage.reusedPromptTokens).toBeGreaterThanOrEqual(mid.cachedTokens - 1);
      expect(sent.usage.reusedPromptTokens).toBeLessThan(sent.usage.promptTokens);
    });

    it('a follow-up typed in full before it is sent prefills only the generation prompt', async () => {
      const { engine } = await countedEngine(dir, { prefeedNextTurn: false });
      const h1 = [imageQuestion(image, 'Describe the picture.')];
      const a1 = await firstTurn(engine, h1);
      const h2 = followUp(h1, a1.message.content, 'And the colours?');
      const ready = await engine.prepare(ask(h2));
      const a2 = await engine.chat(ask(h2));
      expect(a2.message.content).toBe((await freshAnswer(h2)).message.content);
      expect(a2.usage.reusedPromptTokens).toBe(ready.cachedTokens);
      // What is left is the template's words after the question (" ASSISTANT:" and the like).
      expect(a2.usage.promptTokens - ready.cachedTokens).toBeGreaterThan(0);
      expect(a2.usage.promptTokens - ready.cachedTokens).toBeLessThanOrEqual(8);
    });

    it('a draft rewritten from its first word, then sent, still gives the fresh answer', async () => {
      const { engine } = await countedEngine(dir, { prefeedNextTurn: false });
      const h1 = [imageQuestion(image, 'Describe the picture.')];
      const a1 = await firstTurn(engine, h1);
      await engine.prepare(ask(followUp(h1, a1.message.content, 'Is there any text written in the picture')));
      const h2 = followUp(h1, a1.message.content, 'Count the shapes.');
      const a2 = await engine.chat(ask(h2));
      expect(a2.message.content).toBe((await freshAnswer(h2)).message.content);
      // The answer and the turn's opening were still shared.
      expect(a2.usage.reusedPromptTokens).toBeGreaterThan(a1.usage.promptTokens);
    });

    it('does nothing for a conversation that does not end with a user message, and honours abort', async () => {
      const { engine, log } = await countedEngine(dir, { prefeedNextTurn: false });
      const h1 = [imageQuestion(image, 'Describe the picture.')];
      const a1 = await firstTurn(engine, h1);
      const runs = { ...log.runs };
      const none = await engine.prepare(ask([...h1, { role: 'assistant', content: a1.message.content }]));
      expect(none.cachedTokens).toBe(0);
      expect(log.runs).toEqual(runs);

      const controller = new AbortController();
      controller.abort();
      await expect(
        engine.prepare(ask(followUp(h1, a1.message.content, 'Why?')), { signal: controller.signal }),
      ).rejects.toMatchObject({ name: 'AbortError' });
      expect(log.runs).toEqual(runs);
      const h2 = followUp(h1, a1.message.content, 'Why?');
      expect((await engine.chat(ask(h2))).message.content).toBe((await freshAnswer(h2)).message.content);
    });

    it('keeps conversations apart: a draft in one chat does not touch another', async () => {
      const { engine } = await countedEngine(dir, { prefeedNextTurn: false });
      const h1 = [imageQuestion(image, 'Describe the picture.')];
      const a1 = await firstTurn(engine, h1, 'one');
      await engine.prepare(ask([imageQuestion(picture(20, 20, 9), 'Something else entirely')], 'two'));
      const h2 = followUp(h1, a1.message.content, 'More?');
      const a2 = await engine.chat(ask(h2, 'one'));
      expect(a2.usage.reusedPromptTokens).toBeGreaterThan(a1.usage.promptTokens);
      expect(a2.message.content).toBe((await freshAnswer(h2)).message.content);
    });
  });
}

