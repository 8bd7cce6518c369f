// Owns assembling one turn's decoder input from messages and preprocessed images: features (cached by pixel
// identity), the rendered prompt and its expanded ids. It must not decode images from files or run the decoder.

import { throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';
import type { ChatMessage, TemplateName } from '../shared/protocol';
import { pixelKey, type FeatureCache } from './feature-cache';
import type { TurnInput } from './generate';
import type { PixelValues } from './image-preprocess';
import type { ImageSpan } from './kv-cache';
import type { LoadedModel } from './model-loader';
import { renderPrompt, tokenizePrompt } from './prompt';
import type { ImageFeatures } from './vision';

/**
 * Encodes the conversation's images (reusing cached features) and tokenises the prompt with `<image>` expanded to
 * each image's real feature count.
 * @throws EngineError('context-overflow') when the prompt leaves no room for an answer; 'inference-failed' /
 * 'bad-model' from the encoder or a template that does not place every image.
 */
export async function buildTurnInput(
  model: LoadedModel,
  messages: readonly ChatMessage[],
  template: TemplateName,
  pixels: readonly PixelValues[],
  cache: FeatureCache | null,
  signal?: AbortSignal,
): Promise<TurnInput> {
  const features: ImageFeatures[] = [];
  const keys: string[] = [];
  for (const p of pixels) {
    throwIfAborted(signal);
    const key = pixelKey(p);
    let f = cache?.get(key);
    if (!f) {
      f = await model.vision.encode(p);
      cache?.set(key, f);
    }
    features.push(f);
    keys.push(key);
  }
  const rendered = renderPrompt(messages, template, model.tokenizer, model.imageToken);
  const tokens = tokenizePrompt(
    rendered,
    model.tokenizer,
    model.config.imageTokenId,
    features.map((f) => f.rows),
  );
  const context = model.config.text.contextLength;
  if (tokens.ids.length >= context) {
    throw new EngineError(
      'context-overflow',
      `The conversation is ${tokens.ids.length} tokens long but the model's context window is ${context} tokens. ` +
        'Start a new conversation or remove an image.',
      { details: { promptTokens: tokens.ids.length, contextLength: context } },
    );
  }
  const spans: ImageSpan[] = tokens.imageSpans.map((s, k) => ({ ...s, key: keys[k] as string }));
  return { ids: tokens.ids, spans, features };
}
