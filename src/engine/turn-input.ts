// Owns assembling one turn's decoder input from messages and preprocessed images: features (cached by pixel
// identity), the rendered prompt and its expanded ids. It must not decode images from files or run the decoder.

import { throwIfAborted } from '../shared/abort';
import type { ChatMessage, TemplateName } from '../shared/protocol';
import { contextOverflowError } from './context-window';
import { pixelKey, type FeatureCache } from './feature-cache';
import type { TurnInput } from './generate';
import type { PixelValues } from './image-preprocess';
import type { ImageSpan } from './kv-cache';
import type { LoadedModel } from './model-loader';
import { expandImageTokens, renderPrompt, type RenderedPrompt } from './prompt';
import type { RecordedAnswer, ResolvedPrompt, Transcript } from './transcript';
import type { ImageFeatures } from './vision';

/** An image known by a content key; it is preprocessed only when its features are not cached. */
export interface KeyedImage {
  key: string;
  preprocess(): PixelValues;
}

/** Preprocessed pixels (keyed by their own hash) or a keyed image. */
export type TurnImage = PixelValues | KeyedImage;

export interface TurnInputOptions {
  /**
   * The conversation's transcript, and the answers the request carries with their generated ids: the prompt's raw ids
   * then reuse the ids the model really saw (default: tokenise the rendered text).
   */
  transcript?: { transcript: Transcript; answers?: readonly RecordedAnswer[] };
  /**
   * Refuse a prompt that fills the context window (default true). Off for a caller that measures candidate prompts
   * and shortens the conversation itself.
   */
  checkContext?: boolean;
}

/** Where features are looked up and kept: the engine's cache, or a view over it. */
export type FeatureStore = Pick<FeatureCache, 'get' | 'set'>;

/** The decoder input plus what it was built from. */
export interface BuiltTurn extends TurnInput {
  rendered: RenderedPrompt;
  /** Prompt ids before image expansion (one placeholder per image). */
  rawIds: number[];
  /** How the transcript resolved the prompt (what the engine records after the answer); null without one. */
  resolved: ResolvedPrompt | null;
}

function isKeyed(image: TurnImage): image is KeyedImage {
  return 'key' in image && typeof image.key === 'string';
}

/**
 * Encodes the conversation's images (reusing cached features) and tokenises the prompt with `<image>` expanded to
 * each image's real feature count.
 * @throws EngineError('context-overflow') when the prompt leaves no room for an answer (unless `checkContext` is
 * off); 'inference-failed' / 'bad-model' from the encoder or a template that does not place every image.
 */
export async function buildTurnInput(
  model: LoadedModel,
  messages: readonly ChatMessage[],
  template: TemplateName,
  images: readonly TurnImage[],
  cache: FeatureStore | null,
  signal?: AbortSignal,
  options: TurnInputOptions = {},
): Promise<BuiltTurn> {
  const features: ImageFeatures[] = [];
  const keys: string[] = [];
  for (const image of images) {
    throwIfAborted(signal);
    const key = isKeyed(image) ? image.key : await pixelKey(image);
    let f = cache?.get(key);
    if (!f) {
      f = await model.vision.encode(isKeyed(image) ? image.preprocess() : image);
      cache?.set(key, f);
    }
    features.push(f);
    keys.push(key);
  }
  throwIfAborted(signal);
  const rendered = renderPrompt(messages, template, model.tokenizer, model.imageToken);
  const resolved =
    options.transcript?.transcript.resolve(rendered, {
      encode: model.tokenizer.encode,
      pieceStarts: model.tokenizer.pieceStarts ?? null,
      imageTokenId: model.config.imageTokenId,
      imageKeys: keys,
      answers: options.transcript.answers ?? [],
    }) ?? null;
  const rawIds = resolved?.ids ?? model.tokenizer.encode(rendered.text, rendered.addSpecialTokens);
  const tokens = expandImageTokens(
    rawIds,
    model.config.imageTokenId,
    features.map((f) => f.rows),
  );
  const context = model.config.text.contextLength;
  if (options.checkContext !== false && tokens.ids.length >= context) {
    throw contextOverflowError(tokens.ids.length, context);
  }
  const spans: ImageSpan[] = tokens.imageSpans.map((s, k) => ({ ...s, key: keys[k] as string }));
  return { ids: tokens.ids, spans, features, rendered, rawIds, resolved };
}
