// Owns closing a finished turn ahead of the next request: the ids every follow-up starts with (the answer's last
// token, the end-of-turn mark and the template's opening of the next user message) run through the decoder while the
// person reads and types, so a follow-up prefills only its own words. It must not sample, and it never cuts a cache:
// it only extends one that is a prefix of those ids.

import type { ChatMessage, TemplateName } from '../shared/protocol';
import type { Decoder } from './decoder';
import type { ConversationKv, ImageSpan } from './kv-cache';
import type { LoadedModel } from './model-loader';
import { expandImageTokens, renderPrompt } from './prompt';
import type { Transcript } from './transcript';
import type { ImageFeatures } from './vision';

/** Stands for the next question while rendering; a private-use character no one types. */
const NEXT_QUESTION = '\uE000';

/** More than this many ids to close a turn means the template did something unexpected: leave it to the next turn. */
const MAX_CLOSING_IDS = 16;

/** The finished turn, as the engine saw it. */
export interface FinishedTurn {
  messages: readonly ChatMessage[];
  template: TemplateName;
  answer: string;
  imageKeys: readonly string[];
  features: readonly ImageFeatures[];
  spans: readonly ImageSpan[];
}

/**
 * The ids a follow-up to `turn` will begin with: the conversation so far, the answer, and the template's text up to
 * where the next user message's own words start (trailing whitespace left out: tokenisers glue it to the next word).
 * Null when the template puts nothing recognisable there.
 */
export function nextTurnOpening(
  model: LoadedModel,
  transcript: Transcript,
  turn: FinishedTurn,
): number[] | null {
  const probe: ChatMessage[] = [
    ...turn.messages,
    { role: 'assistant', content: turn.answer },
    { role: 'user', content: NEXT_QUESTION },
  ];
  const rendered = renderPrompt(probe, turn.template, model.tokenizer, model.imageToken);
  const cut = rendered.text.indexOf(NEXT_QUESTION);
  if (cut < 0) return null;
  const text = rendered.text.slice(0, cut).trimEnd();
  const raw = transcript.resolve(
    { ...rendered, text },
    {
      encode: model.tokenizer.encode,
      pieceStarts: model.tokenizer.pieceStarts ?? null,
      imageTokenId: model.config.imageTokenId,
      imageKeys: turn.imageKeys,
    },
  ).ids;
  return expandImageTokens(
    raw,
    model.config.imageTokenId,
    turn.features.map((f) => f.rows),
  ).ids;
}

/**
 * Extends `kv` with the ids of `opening` it does not hold yet, when it holds a prefix of them and only a few are
 * missing. Returns how many ids ran.
 * @throws EngineError('inference-failed') from the runtime (the caller drops the cache then).
 */
export async function prefeed(
  decoder: Decoder,
  kv: ConversationKv,
  opening: readonly number[],
  spans: readonly ImageSpan[],
): Promise<number> {
  const past = kv.past;
  if (!past || kv.length === 0) return 0;
  if (kv.commonPrefix(opening, spans) < kv.length) return 0;
  const fresh = opening.slice(kv.length);
  if (fresh.length === 0 || fresh.length > MAX_CLOSING_IDS) return 0;
  const embeds = await decoder.embed(fresh);
  const step = await decoder.step(embeds, fresh.length, past, kv.length);
  kv.append(step.present, fresh);
  return fresh.length;
}
