// Long conversations keep going: with contextOverflow 'drop-oldest-turns' whole middle turns are left out of the
// prompt, oldest first, until the answer has room, and then some more so the next turns keep the prompt's start (and
// its KV cache). The first question, the last question, system messages and pictures always stay; the first answer
// goes only as a last resort. An answer may use all the room the prompt leaves, and usage says what bounded it.
// The engine-level half runs the tiny demo model (512-token window; the default answer budget fills it).
import { beforeAll, describe, expect, it } from 'vitest';
import {
  answerReserve,
  droppableTurns,
  fitToContext,
  type FitOptions,
} from '../../src/engine/context-window';
import type { ChatMessage, ChatRequest, EngineApi } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';
import { imageQuestion, loadedEngine, picture } from './engine-helpers';

describe('answerReserve', () => {
  it('is the answer budget, at most a quarter of the window but never capped below 64', () => {
    expect(answerReserve(512, 512)).toBe(128);
    expect(answerReserve(512, 10)).toBe(10);
    expect(answerReserve(200, 512)).toBe(64);
    expect(answerReserve(4096, 2000)).toBe(1024);
  });
});

describe('fitToContext (pure selection)', () => {
  /** A message of `words` tokens under the fake measure; `tag` tells them apart. */
  const m = (role: ChatMessage['role'], tag: string, words: number, image = false): ChatMessage => {
    const text = [tag, ...Array.from({ length: words - 1 }, () => 'w')].join(' ');
    return image
      ? {
          role,
          content: [
            { type: 'image', image: 'data:image/png;base64,' },
            { type: 'text', text },
          ],
        }
      : { role, content: text };
  };
  const tagOf = (msg: ChatMessage): string => {
    const text = typeof msg.content === 'string' ? msg.content : (msg.content[1] as { text: string }).text;
    return text.split(' ')[0] as string;
  };
  /** One token per word, 2 per message of template, 20 per picture. */
  const tokens = (list: readonly ChatMessage[]): number =>
    list.reduce((n, msg) => {
      const text = typeof msg.content === 'string' ? msg.content : (msg.content[1] as { text: string }).text;
      const images = typeof msg.content === 'string' ? 0 : 1;
      return n + 2 + text.split(' ').length + 20 * images;
    }, 0);
  const run = async (messages: ChatMessage[], options: FitOptions) => {
    const measured: number[] = [];
    const fitted = await fitToContext(
      messages,
      async (candidate) => {
        measured.push(tokens(candidate));
        return tokens(candidate);
      },
      (n) => n,
      options,
    );
    return { ...fitted, tags: fitted.messages.map(tagOf), calls: measured.length };
  };
  /** system, then `turns` question/answer pairs of 10 + 10 words, then the last question. */
  const conversation = (turns: number, system = true): ChatMessage[] => [
    ...(system ? [m('system', 'S', 8)] : []),
    ...Array.from({ length: turns }, (_, k) => [
      m('user', `U${k + 1}`, 10),
      m('assistant', `A${k + 1}`, 10),
    ]).flat(),
    m('user', `U${turns + 1}`, 10),
  ];

  it('keeps everything when the answer has room, measuring once', async () => {
    const msgs = conversation(3);
    const r = await run(msgs, { contextLength: 1000, reserve: 100 });
    expect(r.messages).toEqual(msgs);
    expect(r.droppedMessages).toBe(0);
    expect(r.droppedTurns).toBe(0);
    expect(r.calls).toBe(1);
  });

  it('leaves out whole turns, oldest first, keeping system, U1, A1 and the last question; roles alternate', async () => {
    // 10 system + 12 a message: 10 turns = 10 + 12 * 21 = 262 tokens.
    const msgs = conversation(10);
    expect(tokens(msgs)).toBe(262);
    const r = await run(msgs, { contextLength: 300, reserve: 50 });
    // One turn less (238) would fit under 250, but once dropping, the slack target is ≤ 200: three turns go.
    expect(r.measured).toBe(190);
    expect(r.tags).toEqual([
      'S',
      'U1',
      'A1',
      'U5',
      'A5',
      'U6',
      'A6',
      'U7',
      'A7',
      'U8',
      'A8',
      'U9',
      'A9',
      'U10',
      'A10',
      'U11',
    ]);
    expect(r.droppedTurns).toBe(3);
    expect(r.droppedMessages).toBe(6);
    const roles = r.messages.filter((x) => x.role !== 'system').map((x) => x.role);
    roles.forEach((role, i) => expect(role).toBe(i % 2 === 0 ? 'user' : 'assistant'));
  });

  it('slack: drops until the prompt is at most context − 2 × reserve, not just until it fits', async () => {
    const msgs = conversation(10);
    // Dropping one turn (238) would leave the 50-token reserve; the slack target 188 takes four.
    const r = await run(msgs, { contextLength: 288, reserve: 50 });
    expect(r.measured).toBeLessThanOrEqual(288 - 100);
    expect(r.droppedTurns).toBe(4);
    // The fewest turns that reach the target: one turn fewer would be over it.
    expect(r.measured + 24).toBeGreaterThan(288 - 100);
  });

  it('measures a few candidates, not every count (long conversations stay cheap)', async () => {
    const msgs = conversation(200);
    const r = await run(msgs, { contextLength: 1000, reserve: 100 });
    expect(r.measured).toBeLessThanOrEqual(800);
    expect(r.measured + 24).toBeGreaterThan(800);
    expect(r.calls).toBeLessThanOrEqual(2 + 2 * Math.ceil(Math.log2(200)));
  });

  it('a turn that carries a picture is never left out; later turns go instead', async () => {
    const msgs = [
      m('user', 'U1', 10, true),
      m('assistant', 'A1', 10),
      m('user', 'U2', 10),
      m('assistant', 'A2', 10),
      m('user', 'U3', 10, true),
      m('assistant', 'A3', 10),
      m('user', 'U4', 10),
      m('assistant', 'A4', 10),
      m('user', 'U5', 10),
    ];
    expect(droppableTurns(msgs)).toEqual([
      [2, 3],
      [6, 7],
    ]);
    const r = await run(msgs, { contextLength: 160, reserve: 30 });
    expect(r.tags).toEqual(['U1', 'A1', 'U3', 'A3', 'U5']);
    expect(r.droppedMessages).toBe(4);
  });

  it('system messages anywhere stay; replies to the first question stay with it', async () => {
    const msgs = [
      m('system', 'S1', 5),
      m('user', 'U1', 10),
      m('assistant', 'A1', 10),
      m('user', 'U2', 10),
      m('system', 'S2', 5),
      m('assistant', 'A2', 10),
      m('user', 'U3', 10),
    ];
    expect(droppableTurns(msgs)).toEqual([[3, 5]]);
    const r = await run(msgs, { contextLength: 80, reserve: 10 });
    expect(r.tags).toEqual(['S1', 'U1', 'A1', 'S2', 'U3']);
  });

  it('the previous drop count is tried first, so the next turn keeps the same prompt start', async () => {
    const before = await run(conversation(10), { contextLength: 300, reserve: 50 });
    expect(before.droppedTurns).toBe(3);
    // One more turn of 24 tokens: without the hint the slack rule would leave out another one.
    const next = conversation(11);
    const fresh = await run(next, { contextLength: 300, reserve: 50 });
    expect(fresh.droppedTurns).toBe(4);
    const kept = await run(next, { contextLength: 300, reserve: 50, previousDroppedTurns: 3 });
    expect(kept.droppedTurns).toBe(3);
    expect(kept.tags.slice(0, before.tags.length)).toEqual(before.tags);
    expect(kept.calls).toBe(2);
    // When the previous start no longer leaves room, it drops further, again down to the slack target.
    const later = conversation(14);
    const grown = await run(later, { contextLength: 300, reserve: 50, previousDroppedTurns: 3 });
    expect(grown.droppedTurns).toBe(7);
    expect(grown.measured).toBe(190);
    expect(grown.tags.slice(0, 3)).toEqual(['S', 'U1', 'A1']);
    // A hint larger than what the conversation now holds is clamped.
    const short = await run(conversation(3), { contextLength: 300, reserve: 50, previousDroppedTurns: 9 });
    expect(short.droppedTurns).toBe(0);
  });

  it('a whole conversation known to be too long is not measured: the same choice, without building it', async () => {
    const first = await run(conversation(10), { contextLength: 300, reserve: 50 });
    expect(first.wholeAtLeast).toBe(tokens(conversation(10)));
    const next = conversation(11);
    const options = { contextLength: 300, reserve: 50, previousDroppedTurns: first.droppedTurns };
    const measuredWhole = await run(next, options);
    const known = await run(next, { ...options, wholeAtLeast: first.wholeAtLeast });
    expect(known.tags).toEqual(measuredWhole.tags);
    expect(known.measured).toBe(measuredWhole.measured);
    // Only the previous start was measured; the bound carries over for the turn after.
    expect(known.calls).toBe(measuredWhole.calls - 1);
    expect(known.wholeAtLeast).toBe(first.wholeAtLeast);
    // A bound within the room proves nothing: the whole conversation is measured (and here it fits).
    const small = await run(conversation(3), { contextLength: 300, reserve: 50, wholeAtLeast: 100 });
    expect(small.droppedTurns).toBe(0);
    expect(small.calls).toBe(1);
  });

  it('gives up with context-overflow when even the shortest prompt fills the window', async () => {
    const msgs = [
      m('user', 'U1', 10),
      m('assistant', 'A1', 10),
      m('user', 'U2', 50),
      m('assistant', 'A2', 10),
    ];
    msgs.push(m('user', 'U3', 100));
    const err = await run(msgs, { contextLength: 110, reserve: 30 }).catch((e: unknown) => e);
    // Without U2/A2: 12 + 12 + 102 = 126 tokens; without A1 too, 114: neither fits 110.
    expect(err).toMatchObject({
      name: 'EngineError',
      code: 'context-overflow',
      details: { promptTokens: 126, contextLength: 110 },
    });
    expect((err as Error).message).toContain('126 tokens long');
  });

  it('leaves the first answer out as a last resort, keeping the first question', async () => {
    const msgs = [
      m('user', 'U1', 10),
      m('assistant', 'A1', 10),
      m('user', 'U2', 50),
      m('assistant', 'A2', 10),
      m('user', 'U3', 100),
    ];
    const r = await run(msgs, { contextLength: 127, reserve: 30 });
    expect(r.tags).toEqual(['U1', 'U3']);
    expect(r.measured).toBe(114);
  });

  it('answers with what is left when nothing more can go but one token still fits', async () => {
    const msgs = [m('user', 'U1', 10), m('user', 'U2', 50), m('assistant', 'A2', 10), m('user', 'U3', 100)];
    const r = await run(msgs, { contextLength: 115, reserve: 30 });
    expect(r.tags).toEqual(['U1', 'U3']);
    expect(r.measured).toBe(114);
  });
});

describe('engine: drop-oldest-turns on the tiny model (512-token window, greedy)', () => {
  const CONTEXT = 512;
  /** The default answer budget (512) is capped at a quarter of the window. */
  const RESERVE = 128;
  let dir: string;
  let engine: EngineApi;
  let fresh: EngineApi;
  const image = picture(36, 28, 3);
  const words = (n: number, word = 'picture'): string => Array.from({ length: n }, () => word).join(' ');
  /** A picture question, a long middle turn and a short last question: more than the whole window. */
  const long: ChatMessage[] = [
    imageQuestion(image, 'What is in the picture?'),
    { role: 'assistant', content: words(20, 'square') },
    { role: 'user', content: words(260) },
    { role: 'assistant', content: words(200, 'circle') },
    { role: 'user', content: 'And the colours?' },
  ];
  const shortened: ChatMessage[] = [long[0], long[1], long[4]] as ChatMessage[];
  const ask = (
    messages: ChatMessage[],
    contextOverflow?: ChatRequest['contextOverflow'],
    conversationId?: string,
  ): ChatRequest => ({
    messages,
    sampling: { temperature: 0 },
    ...(contextOverflow ? { contextOverflow } : {}),
    ...(conversationId ? { conversationId } : {}),
  });

  beforeAll(async () => {
    dir = getTinyModel('tiny').dir;
    engine = await loadedEngine(dir);
    fresh = await loadedEngine(dir, { kvCacheBudgetBytes: 0 });
  });

  it("'error' (the default) still refuses a conversation longer than the window", async () => {
    for (const mode of [undefined, 'error'] as const) {
      const err = await engine.chat(ask(long, mode)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'context-overflow', details: { contextLength: CONTEXT } });
      expect((err as { details: { promptTokens: number } }).details.promptTokens).toBeGreaterThanOrEqual(
        CONTEXT,
      );
    }
  });

  it('leaves out the middle turn and answers as a fresh engine answers the shortened conversation', async () => {
    const r = await engine.chat(ask(long, 'drop-oldest-turns', 'long'));
    const expected = await fresh.chat(ask(shortened));
    expect(r.usage.droppedMessages).toBe(2);
    expect(r.usage.promptTokens + RESERVE).toBeLessThanOrEqual(CONTEXT);
    expect(r.usage.promptTokens).toBe(expected.usage.promptTokens);
    expect(r.message.content).toBe(expected.message.content);
    expect(r.finishReason).toBe(expected.finishReason);
    expect(expected.usage.droppedMessages).toBeUndefined();
  });

  it('lets an answer fill the room the prompt leaves; the follow-up leaves the first answer out as a last resort', async () => {
    const first: ChatMessage[] = [imageQuestion(image, 'Describe it.')];
    const a1 = await engine.chat(ask(first, 'drop-oldest-turns', 'demo'));
    // The default budget (512) is more than the room left: the answer takes all of it, and says so.
    expect(a1.usage.promptTokens + a1.usage.completionTokens).toBe(CONTEXT);
    expect(a1.finishReason).toBe('length');
    expect(a1.usage.contextLength).toBe(CONTEXT);
    expect(a1.usage.maxNewTokens).toBe(CONTEXT - a1.usage.promptTokens);
    const next: ChatMessage[] = [
      ...first,
      { role: 'assistant', content: a1.message.content },
      { role: 'user', content: 'And the colours?' },
    ];
    // Under 'error' the follow-up cannot be asked.
    await expect(fresh.chat(ask(next))).rejects.toMatchObject({ code: 'context-overflow' });
    const a2 = await engine.chat(ask(next, 'drop-oldest-turns', 'demo'));
    expect(a2.usage.droppedMessages).toBe(1);
    expect(a2.usage.completionTokens).toBeGreaterThan(0);
    // It is the answer a fresh engine gives to the question and the picture without the first answer.
    const expected = await fresh.chat(
      ask([first[0] as ChatMessage, { role: 'user', content: 'And the colours?' }]),
    );
    expect(a2.message.content).toBe(expected.message.content);
  });

  it('a budget below the room left is what bounds the answer', async () => {
    const r = await engine.chat({ ...ask(shortened, 'drop-oldest-turns'), sampling: { maxNewTokens: 5 } });
    expect(r.usage.maxNewTokens).toBe(5);
    expect(r.usage.completionTokens).toBeLessThanOrEqual(5);
  });

  it('a conversation that fits reports no dropped messages', async () => {
    const r = await engine.chat({ ...ask(shortened, 'drop-oldest-turns'), sampling: { maxNewTokens: 4 } });
    expect(r.usage.droppedMessages).toBeUndefined();
  });

  it('prepare shortens the draft the same way, and the chat that sends it runs no prefill', async () => {
    const request = { ...ask(long, 'drop-oldest-turns', 'prepared'), sampling: { maxNewTokens: 8 } };
    const ready = await engine.prepare(request);
    const r = await engine.chat(request);
    expect(r.usage.droppedMessages).toBe(2);
    expect(ready.cachedTokens).toBe(r.usage.promptTokens);
    expect(r.usage.reusedPromptTokens).toBe(r.usage.promptTokens);
    const expected = await fresh.chat({ ...ask(shortened), sampling: { maxNewTokens: 8 } });
    expect(r.message.content).toBe(expected.message.content);
  });

  it('the next turn leaves out the same turns while the answer has room, reusing the previous prompt', async () => {
    // Reserve 16: a prompt fits up to 496 tokens; once turns must go, they go down to 480.
    const sampling = { temperature: 0, maxNewTokens: 16 };
    const conversation = (pad: number): ChatMessage[] => [
      imageQuestion(image, 'What is in the picture?'),
      { role: 'assistant', content: words(10, 'square') },
      { role: 'user', content: words(100) },
      { role: 'assistant', content: words(100, 'circle') },
      { role: 'user', content: words(pad + 1) },
      { role: 'assistant', content: words(20, 'circle') },
      { role: 'user', content: 'Describe it.' },
    ];
    const withoutSecondTurn = (list: ChatMessage[]): ChatMessage[] => [...list.slice(0, 2), ...list.slice(4)];
    const followUp = (list: ChatMessage[], answer: string): ChatMessage[] => [
      ...list,
      { role: 'assistant', content: answer },
      { role: 'user', content: 'Why?' },
    ];
    const promptOf = async (messages: ChatMessage[]) =>
      (await fresh.chat({ messages, sampling: { maxNewTokens: 1 } })).usage.promptTokens;
    // Padding for which the first prompt without its second turn is under the slack target and the follow-up's is
    // over it but still leaves the reserve: there, only remembering the last drop keeps the prompt's start.
    const base = await promptOf(withoutSecondTurn(conversation(0)));
    let first: ChatMessage[] | null = null;
    for (let pad = Math.max(0, 496 - 48 - base); pad <= 480 - base && !first; pad++) {
      const candidate = conversation(pad);
      const answer = (await fresh.chat({ messages: withoutSecondTurn(candidate), sampling })).message.content;
      const next = await promptOf(withoutSecondTurn(followUp(candidate, answer)));
      if (next > 480 && next <= 496) first = candidate;
    }
    if (!first) throw new Error('No padding puts the follow-up between the slack target and the reserve.');
    const request = (messages: ChatMessage[], conversationId = 'turns'): ChatRequest => ({
      messages,
      sampling,
      conversationId,
      contextOverflow: 'drop-oldest-turns',
    });

    const a = await engine.chat(request(first));
    expect(a.usage.droppedMessages).toBe(2);
    expect(a.usage.promptTokens).toBeLessThanOrEqual(480);
    const second = followUp(first, a.message.content);
    const b = await engine.chat(request(second));
    expect(b.usage.droppedMessages).toBe(2);
    expect(b.usage.promptTokens).toBeGreaterThan(480);
    expect(b.usage.promptTokens).toBeLessThanOrEqual(496);
    expect(b.usage.reusedPromptTokens).toBeGreaterThanOrEqual(a.usage.promptTokens);
    const expected = await fresh.chat({ messages: withoutSecondTurn(second), sampling });
    expect(b.message.content).toBe(expected.message.content);
    expect(b.usage.promptTokens).toBe(expected.usage.promptTokens);
    // A conversation met for the first time at this length goes down to the slack target.
    const cold = await engine.chat(request(second, 'cold'));
    expect(cold.usage.droppedMessages).toBe(4);
    expect(cold.usage.promptTokens).toBeLessThanOrEqual(480);
  });

  it('a conversation that cannot be shortened enough still throws context-overflow', async () => {
    const hopeless: ChatMessage[] = [
      imageQuestion(image, 'What is in the picture?'),
      { role: 'assistant', content: words(20, 'square') },
      { role: 'user', content: words(100) },
      { role: 'assistant', content: words(100, 'circle') },
      { role: 'user', content: words(520) },
    ];
    const err = await engine.chat(ask(hopeless, 'drop-oldest-turns')).catch((e: unknown) => e);
    const direct = await engine
      .chat(ask([hopeless[0], hopeless[1], hopeless[4]] as ChatMessage[]))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'EngineError', code: 'context-overflow' });
    // The same error the shortest prompt gets without dropping: same message and numbers.
    expect(err).toEqual(direct);
    expect((err as Error).message).toBe((direct as Error).message);
    await expect(engine.prepare(ask(hopeless, 'drop-oldest-turns'))).rejects.toMatchObject({
      code: 'context-overflow',
    });
  });
});
