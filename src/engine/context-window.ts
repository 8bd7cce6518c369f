// Owns choosing which messages of a long conversation a prompt keeps when the whole conversation no longer leaves
// room for an answer: whole middle turns are left out, oldest first. It must not render, tokenise or run anything:
// the caller measures candidate message lists.

import { EngineError } from '../shared/errors';
import type { ChatMessage } from '../shared/protocol';

/**
 * The error for a prompt that leaves no room for even one new token. One constructor, so that a conversation that
 * could not be shortened enough reads exactly like one that was never shortened.
 */
export function contextOverflowError(promptTokens: number, contextLength: number): EngineError {
  return new EngineError(
    'context-overflow',
    `The conversation is ${promptTokens} tokens long but the model's context window is ${contextLength} tokens. ` +
      'Start a new conversation or remove an image.',
    { details: { promptTokens, contextLength } },
  );
}

/**
 * Tokens kept free for the answer: the requested budget, but no more than a quarter of the window (at least 64), so
 * that a large default budget does not cut a conversation down to almost nothing.
 */
export function answerReserve(contextLength: number, maxNewTokens: number): number {
  return Math.max(0, Math.min(maxNewTokens, Math.max(64, Math.floor(contextLength / 4))));
}

function hasImage(message: ChatMessage): boolean {
  return typeof message.content !== 'string' && message.content.some((p) => p.type === 'image');
}

/**
 * Indices of the turns a prompt may leave out, oldest first: each is a user message with the replies that follow it,
 * after the first user message's turn and before the last user message. System messages belong to no turn (they are
 * always kept), and a turn that carries a picture is not offered: the picture may be what the question is about.
 */
export function droppableTurns(messages: readonly ChatMessage[]): number[][] {
  const firstUser = messages.findIndex((m) => m.role === 'user');
  let lastUser = messages.length - 1;
  while (lastUser >= 0 && messages[lastUser]?.role !== 'user') lastUser--;
  const turns: number[][] = [];
  let turn: number[] | null = null;
  for (let i = firstUser + 1; firstUser >= 0 && i < lastUser; i++) {
    const role = messages[i]?.role;
    if (role === 'system') continue;
    if (role === 'user') {
      turn = [];
      turns.push(turn);
    }
    // Replies to the first question stay with it (turn is still null there).
    turn?.push(i);
  }
  return turns.filter((t) => !t.some((i) => hasImage(messages[i] as ChatMessage)));
}

/**
 * The replies to the first question (the messages between it and the next user message, system messages aside):
 * what a prompt leaves out last, when an answer that filled most of the window would otherwise leave no room for any
 * follow-up. The first question itself, and its picture, stay.
 */
export function firstAnswers(messages: readonly ChatMessage[]): number[] {
  const firstUser = messages.findIndex((m) => m.role === 'user');
  let lastUser = messages.length - 1;
  while (lastUser >= 0 && messages[lastUser]?.role !== 'user') lastUser--;
  const out: number[] = [];
  for (let i = firstUser + 1; firstUser >= 0 && i < lastUser; i++) {
    const role = messages[i]?.role;
    if (role === 'user') break;
    if (role === 'assistant' && !hasImage(messages[i] as ChatMessage)) out.push(i);
  }
  return out;
}

export interface FitOptions {
  contextLength: number;
  /** Tokens the answer needs room for ({@link answerReserve}). */
  reserve: number;
  /**
   * How many turns this conversation's previous prompt left out. Tried first: while the same prompt start still fits,
   * the next turn extends the previous prompt and reuses its KV cache instead of prefilling from the first drop on.
   */
  previousDroppedTurns?: number;
  /**
   * A lower bound on the whole conversation's prompt length, known without measuring it (the caller measured a
   * conversation this one only extends: appending messages never shortens a prompt). Over the room it leaves, the
   * whole conversation is not built at all, so a long chat's turn does not render and tokenise all its history.
   */
  wholeAtLeast?: number;
}

export interface Fitted<T> {
  /** The messages the prompt keeps, in their order. */
  messages: ChatMessage[];
  /** Messages left out. */
  droppedMessages: number;
  /** Turns left out (what {@link FitOptions.previousDroppedTurns} takes next time). */
  droppedTurns: number;
  /** What `measure` returned for the kept messages. */
  measured: T;
  /** The whole conversation's prompt length, or the lower bound it was known to exceed (what {@link FitOptions.wholeAtLeast} takes next time). */
  wholeAtLeast: number;
}

/**
 * Leaves out the oldest droppable turns until the prompt leaves `reserve` tokens for the answer. Once any must go, it
 * goes on until the prompt is at most `contextLength − 2 × reserve`, so the turns after it keep the same prompt start
 * (and its KV cache) for a while. Assumes that leaving out more turns never lengthens the prompt: it probes a few
 * counts (galloping, then bisecting), not every one, and measures each candidate at most once.
 * @param measure builds the prompt for a candidate message list (called with the full list first).
 * @param tokensOf the prompt length in tokens of what `measure` returned.
 * @throws EngineError('context-overflow') when even the shortest candidate leaves no room for one new token; any
 * error from `measure`.
 */
export async function fitToContext<T>(
  messages: readonly ChatMessage[],
  measure: (candidate: ChatMessage[]) => Promise<T>,
  tokensOf: (measured: T) => number,
  options: FitOptions,
): Promise<Fitted<T>> {
  const { contextLength, reserve } = options;
  const turns = droppableTurns(messages);
  const seen = new Map<number, { kept: ChatMessage[]; measured: T; tokens: number }>();
  const probe = async (dropped: number) => {
    let hit = seen.get(dropped);
    if (!hit) {
      const out = new Set(turns.slice(0, dropped).flat());
      const kept = messages.filter((_, i) => !out.has(i));
      const measured = await measure(kept);
      hit = { kept, measured, tokens: tokensOf(measured) };
      seen.set(dropped, hit);
    }
    return hit;
  };
  const roomy = contextLength - reserve;
  const known = options.wholeAtLeast ?? 0;
  // Measured only when it might fit: past that, the bound carries over to the next turn.
  const whole = known > roomy ? known : (await probe(0)).tokens;
  const result = async (dropped: number): Promise<Fitted<T>> => {
    const { kept, measured } = await probe(dropped);
    return {
      messages: kept,
      droppedMessages: messages.length - kept.length,
      droppedTurns: dropped,
      measured,
      wholeAtLeast: whole,
    };
  };

  if (whole <= roomy) return result(0);
  const hint = Math.min(Math.max(0, Math.floor(options.previousDroppedTurns ?? 0)), turns.length);
  if (hint > 0 && (await probe(hint)).tokens <= roomy) return result(hint);

  // `low` is known to be too long; find the fewest further turns that reach the slack target.
  const slack = contextLength - 2 * reserve;
  let low = hint;
  let high = -1;
  for (let step = 1; low < turns.length; step *= 2) {
    const d = Math.min(low + step, turns.length);
    if ((await probe(d)).tokens <= slack) {
      high = d;
      break;
    }
    low = d;
  }
  if (high < 0) {
    const shortest = await probe(turns.length);
    if (shortest.tokens < roomy) return result(turns.length);
    const last = await lastResort(messages, turns, measure, tokensOf, contextLength);
    if (last) return { ...last, wholeAtLeast: whole };
    if (shortest.tokens >= contextLength) throw contextOverflowError(shortest.tokens, contextLength);
    return result(turns.length);
  }
  while (high - low > 1) {
    const mid = (low + high) >> 1;
    if ((await probe(mid)).tokens <= slack) high = mid;
    else low = mid;
  }
  return result(high);
}

/**
 * Every droppable turn and the first question's answer left out, when that prompt leaves room for an answer; null
 * when there is no such answer, the prompt still fills the window, or the template refuses two questions in a row.
 */
async function lastResort<T>(
  messages: readonly ChatMessage[],
  turns: readonly number[][],
  measure: (candidate: ChatMessage[]) => Promise<T>,
  tokensOf: (measured: T) => number,
  contextLength: number,
): Promise<Omit<Fitted<T>, 'wholeAtLeast'> | null> {
  const answers = firstAnswers(messages);
  if (answers.length === 0) return null;
  const out = new Set([...turns.flat(), ...answers]);
  const kept = messages.filter((_, i) => !out.has(i));
  let measured: T;
  try {
    measured = await measure(kept);
  } catch (error) {
    // A chat template that insists on alternating roles cannot render it: the conversation is simply too long.
    if ((error as { code?: unknown } | null)?.code !== undefined) throw error;
    return null;
  }
  if (tokensOf(measured) >= contextLength) return null;
  return {
    messages: kept,
    droppedMessages: messages.length - kept.length,
    droppedTurns: turns.length + 1,
    measured,
  };
}
