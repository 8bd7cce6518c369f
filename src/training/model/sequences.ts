// Owns turning LLaVA JSON records into token sequences with answer masks, through the engine's own prompt renderer
// and tokenizer, so training sees byte for byte the prompts the engine builds at inference. No TF.js here.

import { renderLlavaConversation } from '../../engine/prompt';
import type { ChatMessage } from '../../shared/protocol';
import type { TrainingTokenizer } from './tokenizer';
import { IMAGE_PLACEHOLDER, type LlavaRecord } from '../data/llava-format';

/** A tokenised training example. */
export interface TokenSequence {
  /** Token ids with the image token expanded to one id per image feature. */
  ids: Int32Array;
  /** 1 where the token is part of an answer (trained to predict it), else 0. */
  answer: Uint8Array;
  /** Image path of the record (relative to the data root), or null for text-only records. */
  image: string | null;
  /** Index of the first image row in `ids` (-1 without image). */
  imageStart: number;
}

/** What sequences need of a tokenizer: the fast encoder (the browser worker has no transformers.js tokenizer). */
export type SequenceTokenizer = Pick<TrainingTokenizer, 'encodeCached'>;

export interface SequenceContext<T extends SequenceTokenizer = TrainingTokenizer> {
  tokenizer: T;
  imageTokenId: number;
  eosTokenId: number;
  /** Feature rows per image (16 for 32 px / 8 px patches, CLS dropped). */
  imageFeatures: number;
}

// Only the count of images matters to the renderer; it never reads pixels.
const NO_PIXELS = { width: 1, height: 1, data: new Uint8Array(4) };

function toMessages(record: LlavaRecord): ChatMessage[] {
  return record.conversations.map((turn) => {
    if (turn.from === 'gpt') return { role: 'assistant', content: turn.value };
    if (!turn.value.includes(IMAGE_PLACEHOLDER)) return { role: 'user', content: turn.value };
    const text = turn.value
      .split(IMAGE_PLACEHOLDER)
      .join('')
      .replace(/^\n+|\n+$/g, '');
    return {
      role: 'user',
      content: [
        { type: 'image', image: NO_PIXELS },
        { type: 'text', text },
      ],
    };
  });
}

function startsWith(ids: readonly number[], prefix: readonly number[]): boolean {
  if (prefix.length > ids.length) return false;
  for (let i = 0; i < prefix.length; i++) if (ids[i] !== prefix[i]) return false;
  return true;
}

/** Expands the single image token to `n` rows and returns the finished sequence. */
function finish(
  raw: number[],
  answer: Uint8Array,
  ctx: SequenceContext<SequenceTokenizer>,
  image: string | null,
): TokenSequence {
  const at = raw.indexOf(ctx.imageTokenId);
  if (at < 0 || image === null) {
    return { ids: Int32Array.from(raw), answer, image: null, imageStart: -1 };
  }
  const n = ctx.imageFeatures;
  const ids = new Int32Array(raw.length + n - 1);
  const ans = new Uint8Array(raw.length + n - 1);
  ids.set(raw.slice(0, at), 0);
  ids.fill(ctx.imageTokenId, at, at + n);
  ids.set(raw.slice(at + 1), at + n);
  ans.set(answer.subarray(0, at), 0);
  ans.set(answer.subarray(at + 1), at + n);
  return { ids, answer: ans, image, imageStart: at };
}

/**
 * A conversation in the Vicuna v1 format the engine writes (`{system} USER: <image>\n{q} ASSISTANT: {a}</s>USER: …`),
 * loss on the answer tokens and their `</s>` only.
 * @throws Error when a prompt's tokens are not a prefix of the whole conversation's (the mask would be wrong).
 */
export function conversationSequence(
  record: LlavaRecord,
  system: string,
  ctx: SequenceContext<SequenceTokenizer>,
): TokenSequence {
  const messages = toMessages(record);
  const full = renderLlavaConversation(messages, system, IMAGE_PLACEHOLDER).text.replace(/ASSISTANT:$/, '');
  const ids = ctx.tokenizer.encodeCached(full, true);
  const answer = new Uint8Array(ids.length);
  for (let i = 0; i < messages.length; i++) {
    if (messages[i]!.role !== 'assistant') continue;
    const prompt = renderLlavaConversation(messages.slice(0, i), system, IMAGE_PLACEHOLDER).text;
    const withAnswer = `${prompt} ${record.conversations[i]!.value}</s>`;
    const a = ctx.tokenizer.encodeCached(prompt, true);
    const b = ctx.tokenizer.encodeCached(withAnswer, true);
    if (!startsWith(b, a) || !startsWith(ids, b))
      throw new Error(`record ${record.id}: answer tokens do not line up`);
    answer.fill(1, a.length, b.length);
  }
  return finish(ids, answer, ctx, record.image ?? null);
}
