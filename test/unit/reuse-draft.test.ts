// Working ahead on a draft: `prepare` encodes the draft's picture and prefills the prompt the chat would build, keeping
// the logits after it; the chat that sends the message unchanged runs no prefill, one with more words runs only what
// changed. Answers must equal those of an engine that keeps no cache (greedy), whatever the draft was before it was
// sent.
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
      // Only the picture so far: it is encoded, and the prompt with an empty question runs.
      const early = await engine.prepare(ask([imageQuestion(image, '')]));
      expect(log.runs.vision).toBe(1);
      expect(early.cachedTokens).toBeGreaterThan(0);
      // Typing on: the picture is not encoded again.
      const mid = await engine.prepare(ask([imageQuestion(image, 'What colour is')]));
      expect(mid.cachedTokens).toBeGreaterThan(early.cachedTokens);
      expect(log.runs.vision).toBe(1);
      const decoderRuns = log.runs.decoder;
      // The same draft again is free.
      expect((await engine.prepare(ask([imageQuestion(image, 'What colour is')]))).cachedTokens).toBe(
        mid.cachedTokens,
      );
      expect(log.runs.decoder).toBe(decoderRuns);

      // Sent with more words than were prepared: only the words after the shared start run.
      const sent = await engine.chat(ask(final));
      const expected = await freshAnswer(final);
      expect(log.runs.vision).toBe(1);
      expect(sent.message.content).toBe(expected.message.content);
      expect(sent.usage.promptTokens).toBe(expected.usage.promptTokens);
      // Shared with the prepared draft: all but its template tail after the words (a few tokens).
      expect(sent.usage.reusedPromptTokens).toBeGreaterThanOrEqual(mid.cachedTokens - 8);
      expect(sent.usage.reusedPromptTokens).toBeLessThan(sent.usage.promptTokens);
    });

    it('a message sent as it was prepared starts its answer without a prefill', async () => {
      const { engine, log } = await countedEngine(dir, { prefeedNextTurn: false });
      const h1 = [imageQuestion(image, 'Describe the picture.')];
      const a1 = await firstTurn(engine, h1);
      const h2 = followUp(h1, a1.message.content, 'And the colours?');
      const ready = await engine.prepare(ask(h2));
      const runs = log.runs.decoder;
      const a2 = await engine.chat(ask(h2));
      const expected = await freshAnswer(h2);
      expect(a2.message.content).toBe(expected.message.content);
      expect(ready.cachedTokens).toBe(a2.usage.promptTokens);
      expect(a2.usage.reusedPromptTokens).toBe(a2.usage.promptTokens);
      // One decoder run per token fed back; none for the prompt (the last sampled token is never fed).
      expect(log.runs.decoder - runs).toBe(a2.usage.completionTokens - 1);
    });

    it('a prepared prompt answers like a fresh one with a repetition penalty, and again when regenerated', async () => {
      const { engine } = await countedEngine(dir, { prefeedNextTurn: false });
      const h1 = [imageQuestion(image, 'Name the shapes.')];
      const penalised: ChatRequest = {
        ...ask(h1),
        sampling: { maxNewTokens: MAX_NEW, repetitionPenalty: 1.5 },
      };
      const expected = (await fresh.chat(penalised)).message.content;
      await engine.prepare(penalised);
      expect((await engine.chat(penalised)).message.content).toBe(expected);
      expect((await engine.chat(penalised)).message.content).toBe(expected);
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
