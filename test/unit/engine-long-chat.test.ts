// A long chat through the real engine with prompts tokenised in pieces answers exactly as the engine that tokenises
// every prompt whole: the same prompts (lengths, turns left out), the same KV-cache reuse, the same answers, turn by
// turn, with pictures and the oldest turns left out once the window is full; for the demo model's template and
// Vicuna. Greedy, so any difference in a prompt id would show in the answers or the counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, EngineApi, TemplateName } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { imageQuestion, loadedEngine, picture } from './engine-helpers';

const TURNS = 26;

describe('long chat: pieces vs whole prompts on the real engine (tiny model, 512-token window)', () => {
  let pieces: EngineApi;
  let whole: EngineApi;
  beforeAll(async () => {
    const dir = getTinyModel('tiny').dir;
    pieces = await loadedEngine(dir);
    whole = await loadedEngine(dir, { incrementalPrompt: false });
  }, 120_000);
  afterAll(async () => {
    await pieces.unload();
    await whole.unload();
  });

  for (const template of ['model', 'vicuna_v1'] as TemplateName[]) {
    it(`${template}: ${TURNS} turns, the same prompts, reuse and answers`, async () => {
      const chats: ChatMessage[][] = [[imageQuestion(picture(20, 16, 2), 'What is in the picture?')], []];
      chats[1] = [...(chats[0] as ChatMessage[])];
      let dropped = 0;
      let reusedLate = 0;
      for (let k = 1; k <= TURNS; k++) {
        const results = [];
        for (const [side, engine] of [pieces, whole].entries()) {
          const messages = chats[side] as ChatMessage[];
          const r = await engine.chat({
            messages,
            conversationId: `long-${template}`,
            template,
            sampling: { temperature: 0, maxNewTokens: 8 },
            contextOverflow: 'drop-oldest-turns',
          });
          results.push(r);
          const next: ChatMessage =
            k % 8 === 0
              ? imageQuestion(picture(20, 16, k), `Picture ${k}: and this one?`)
              : { role: 'user', content: `Question ${k}: what about the corner ${k % 3}?` };
          // As the app does: the answer goes back with its generated ids.
          messages.push(r.message, next);
        }
        const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
        expect(a.message.content, `turn ${k}`).toBe(b.message.content);
        expect(a.message.tokens, `turn ${k}`).toEqual(b.message.tokens);
        expect(a.usage.promptTokens, `turn ${k}`).toBe(b.usage.promptTokens);
        expect(a.usage.reusedPromptTokens, `turn ${k}`).toBe(b.usage.reusedPromptTokens);
        expect(a.usage.droppedMessages, `turn ${k}`).toBe(b.usage.droppedMessages);
        dropped = Math.max(dropped, a.usage.droppedMessages ?? 0);
        if (k > TURNS - 5) reusedLate += a.usage.reusedPromptTokens ?? 0;
      }
      // The chat outgrew the window, and KV reuse by token prefix still works after turns were left out.
      expect(dropped).toBeGreaterThan(0);
      expect(reusedLate).toBeGreaterThan(0);
      // Edited back to its fourth question (a branch): no longer an extension of the long chat, so it is measured
      // whole again and fits, as on the engine that measures every prompt whole.
      const edited = (chats[0] as ChatMessage[]).slice(0, 7);
      const request = {
        conversationId: `long-${template}`,
        template,
        sampling: { temperature: 0, maxNewTokens: 8 },
        contextOverflow: 'drop-oldest-turns' as const,
      };
      const a = await pieces.chat({ ...request, messages: edited });
      const b = await whole.chat({ ...request, messages: (chats[1] as ChatMessage[]).slice(0, 7) });
      expect(a.usage.droppedMessages).toBeUndefined();
      expect(a.usage.promptTokens).toBe(b.usage.promptTokens);
      expect(a.message.content).toBe(b.message.content);
    }, 300_000);
  }
});
