// Owns one answer: prefill of the prompt's uncached suffix (image rows merged in), then token-by-token decoding
// with sampling, EOS, stop strings, limits and abort checks. It must not build prompts, load models or post events.

import type { FinishReason, Usage } from '../shared/protocol';
import type { Decoder } from './decoder';
import type { ConversationKv, ImageSpan } from './kv-cache';
import type { OrtRuntime } from './runtime';
import type { Sampler } from './sampler';
import { convertFloat, type FloatData } from './tensor-utils';
import { TextStream, type DecodeFn } from './text-stream';
import type { ImageFeatures } from './vision';
import { EngineError } from '../shared/errors';

export interface TurnInput {
  /** Prompt ids with image placeholders already expanded. */
  ids: readonly number[];
  /** Image runs in `ids`, in order, each with the identity of its image. */
  spans: readonly ImageSpan[];
  /** Features for each span, same order. */
  features: readonly ImageFeatures[];
}

export interface TurnOptions {
  sampler: Sampler;
  maxNewTokens: number;
  eosIds: ReadonlySet<number>;
  stops: readonly string[];
  contextLength: number;
  decode: DecodeFn;
  onText: (delta: string) => void;
  now: () => number;
  /** When the request started (for time to first token). */
  startedAt: number;
  signal?: AbortSignal;
  /** Sees each step's raw last-position logits before sampling (diagnostics and parity tests). */
  onLogits?: (logits: Float32Array, step: number) => void;
}

export interface TurnResult {
  ids: number[];
  text: string;
  finishReason: FinishReason;
  usage: Usage;
}

/**
 * Writes image feature rows over the embeddings of their placeholder tokens, in order (HF's masked_scatter).
 * `embeds` holds rows for positions offset … offset+rows-1 of the whole prompt.
 * @throws EngineError('bad-model') when feature and embedding widths differ.
 */
export function mergeImageRows(
  embeds: FloatData,
  hidden: number,
  offset: number,
  spans: readonly ImageSpan[],
  features: readonly ImageFeatures[],
  embedType: 'float32' | 'float16',
): void {
  const rows = embeds.length / hidden;
  spans.forEach((span, k) => {
    const f = features[k];
    if (!f) throw new EngineError('inference-failed', 'An image lost its features. Send the picture again.');
    if (f.dim !== hidden) {
      throw new EngineError(
        'bad-model',
        `Image features are ${f.dim} wide but the text model expects ${hidden}.`,
      );
    }
    const from = Math.max(span.start, offset);
    const to = Math.min(span.start + span.length, offset + rows);
    if (from >= to) return;
    const data = convertFloat(f.data, f.type, embedType);
    for (let p = from; p < to; p++) {
      const row = p - span.start;
      embeds.set(data.subarray(row * hidden, (row + 1) * hidden), (p - offset) * hidden);
    }
  });
}

/**
 * Runs the part of `input` that `kv` does not hold yet (cutting the cache back to the longest shared prefix first) and
 * returns the last position's logits and how many prompt ids came from the cache. The last id runs again unless the
 * cache kept the logits after it. The cache then holds all of `input.ids`, and those logits.
 * @throws EngineError('inference-failed' | 'bad-model') from the runtime; the caller clears the cache then.
 */
export async function prefillPrompt(
  ort: OrtRuntime,
  decoder: Decoder,
  hidden: number,
  kv: ConversationKv,
  input: TurnInput,
): Promise<{ logits: Float32Array; reused: number }> {
  const { ids } = input;
  // Prepared ahead to the last id (EngineApi.prepare): the answer starts without a step.
  const ready = kv.logitsAfter(ids, input.spans);
  if (ready) return { logits: ready, reused: ids.length };
  let reused = kv.commonPrefix(ids, input.spans);
  if (reused >= ids.length) reused = ids.length - 1;
  await kv.truncate(ort, reused);
  const fresh = ids.slice(reused);
  const embeds = await decoder.embed(fresh);
  mergeImageRows(embeds, hidden, reused, input.spans, input.features, decoder.embedType);
  const empty = kv.past === null ? decoder.emptyPast() : null;
  let step;
  try {
    step = await decoder.step(embeds, fresh.length, kv.past ?? (empty as NonNullable<typeof empty>), reused);
  } finally {
    if (empty) for (const t of empty.values()) t.dispose();
  }
  // The sampler may change the logits it gets (repetition penalty): the cache keeps the untouched ones.
  kv.append(step.present, fresh, input.spans, step.logits);
  return { logits: step.logits.slice(), reused };
}

/**
 * Generates one answer, reusing the longest prefix `kv` already holds. The cache is left holding the prompt
 * and every token fed back (so a follow-up turn can reuse it); it is cleared if a step fails.
 * Abort is checked between tokens and reported as finishReason 'abort' (the caller raises the AbortError).
 * @throws EngineError('inference-failed' | 'bad-model') from the runtime.
 */
export async function generateTurn(
  ort: OrtRuntime,
  decoder: Decoder,
  hidden: number,
  kv: ConversationKv,
  input: TurnInput,
  o: TurnOptions,
): Promise<TurnResult> {
  const { ids } = input;
  const stream = new TextStream(o.decode, o.stops);
  try {
    const prefilled = await prefillPrompt(ort, decoder, hidden, kv, input);
    const reused = prefilled.reused;
    let logits = prefilled.logits;

    const generated: number[] = [];
    const seen = [...ids];
    let finishReason: FinishReason = 'length';
    let firstAt = 0;
    let lastAt = 0;
    let sampled = 0;
    for (;;) {
      if (o.signal?.aborted) {
        finishReason = 'abort';
        break;
      }
      o.onLogits?.(logits, sampled);
      const next = o.sampler.next(logits, seen);
      sampled++;
      lastAt = o.now();
      if (sampled === 1) firstAt = lastAt;
      if (o.eosIds.has(next)) {
        finishReason = 'stop';
        break;
      }
      generated.push(next);
      seen.push(next);
      const delta = stream.push(next);
      if (delta) o.onText(delta);
      if (stream.stopped) {
        finishReason = 'stop';
        break;
      }
      if (generated.length >= o.maxNewTokens || kv.length >= o.contextLength) break;
      if (o.signal?.aborted) {
        finishReason = 'abort';
        break;
      }
      const row = await decoder.embed([next]);
      const r = await decoder.step(row, 1, kv.past as NonNullable<typeof kv.past>, kv.length);
      kv.append(r.present, [next]);
      logits = r.logits;
    }
    const tail = stream.finish();
    if (tail) o.onText(tail);
    const decodeSeconds = (lastAt - firstAt) / 1000;
    return {
      ids: generated,
      text: stream.text,
      finishReason,
      usage: {
        promptTokens: ids.length,
        completionTokens: sampled,
        timeToFirstTokenMs: sampled > 0 ? firstAt - o.startedAt : 0,
        decodeTokensPerS: sampled > 1 && decodeSeconds > 0 ? (sampled - 1) / decodeSeconds : 0,
        reusedPromptTokens: reused,
      },
    };
  } catch (error) {
    kv.clear();
    throw error;
  }
}
