// Owns the benchmark conversation as our engine runs it, in the Node child and in the browser alike: three turns
// about one picture, each answer fed back, and between them the think time (plain) or the next question handed to
// `prepare` as it is typed (typed ahead). What differs by runtime comes in through the driver. No Node or DOM imports.

import type { ChatResult } from '../../src/shared/protocol';
import {
  QUESTIONS,
  thinkTime,
  typeAhead,
  withDraft,
  type MessageLike,
  type TurnTiming,
} from './conversation';
import type { TurnProbe } from './tjs-conversation';

export interface OursDriver<M extends MessageLike> {
  chat(messages: M[], maxNewTokens: number): Promise<ChatResult>;
  /** Works ahead on `messages` (the draft as the last user message). */
  prepare(messages: M[]): Promise<void>;
  /** Milliseconds of work the engine still had queued from the last answer when the next question came (Node). */
  queuedMs?(): Promise<number>;
  probe?: TurnProbe;
}

/**
 * The three turns, starting from `first` (the picture and the first question). Typed ahead, the picture is worked on
 * while the first question is typed as well; any work that overran the Enter press is charged to that turn's TTFT.
 */
export async function oursConversation<M extends MessageLike>(
  first: M[],
  driver: OursDriver<M>,
  ahead: boolean,
  newTokens: readonly number[],
): Promise<TurnTiming[]> {
  const messages = [...first];
  const prepare = (draft: string) => driver.prepare(withDraft(messages, draft));
  const turns: TurnTiming[] = [];
  let lateMs = ahead ? await typeAhead(QUESTIONS[0], prepare, true) : 0;
  for (let k = 0; k < QUESTIONS.length; k++) {
    const queuedMs = lateMs + (k > 0 && driver.queuedMs ? await driver.queuedMs() : 0);
    const mark = driver.probe?.begin() ?? 0;
    const r = await driver.chat(messages, newTokens[k] ?? 16);
    turns.push({
      promptTokens: r.usage.promptTokens,
      ttftMs: queuedMs + r.usage.timeToFirstTokenMs,
      newTokens: r.usage.completionTokens,
      decodeTokPerS: r.usage.decodeTokensPerS,
      reusedPromptTokens: r.usage.reusedPromptTokens ?? 0,
      text: r.message.content,
      ...driver.probe?.end(mark),
    });
    const next = QUESTIONS[k + 1];
    if (next) {
      messages.push(
        { role: 'assistant', content: r.message.content } as M,
        { role: 'user', content: next } as M,
      );
      if (ahead) lateMs = await typeAhead(next, prepare);
      else await thinkTime();
    }
  }
  return turns;
}
