// Owns turning chat messages into prompt token ids: the model's own Jinja chat template or LLaVA's Vicuna v1 /
// LLaVA v1 conversation formats, then `<image>` expansion to the encoder's real feature counts. No ONNX, no pixels.

import type { Message } from '@huggingface/transformers';
import { EngineError } from '../shared/errors';
import type { ChatMessage, TemplateName } from '../shared/protocol';
import type { TextTokenizer } from './tokenizer';

/** LLaVA's conv_vicuna_v1 system prompt. */
export const VICUNA_V1_SYSTEM =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";
/** LLaVA's conv_llava_v1 system prompt. */
export const LLAVA_V1_SYSTEM =
  "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions.";

export interface RenderedPrompt {
  text: string;
  /** Images in the order their placeholders appear. */
  imageCount: number;
  /** Whether tokenising should add the tokenizer's special tokens (a BOS the template did not write itself). */
  addSpecialTokens: boolean;
}

function textOf(message: ChatMessage, imageToken: string): string {
  if (typeof message.content === 'string') return stripPlaceholder(message.content, imageToken);
  return message.content
    .filter((p): p is { type: 'text'; text: string } => p.type === 'text')
    .map((p) => stripPlaceholder(p.text, imageToken))
    .join('\n');
}

function imagesIn(message: ChatMessage): number {
  return typeof message.content === 'string' ? 0 : message.content.filter((p) => p.type === 'image').length;
}

// A user typing the placeholder must not make the model look for an image that is not there.
function stripPlaceholder(text: string, imageToken: string): string {
  return imageToken ? text.split(imageToken).join('') : text;
}

/**
 * LLaVA's SeparatorStyle.TWO conversations (conv_vicuna_v1, conv_llava_v1):
 * `{system} USER: <image>\n{text} ASSISTANT: {answer}</s>USER: {text} ASSISTANT:`.
 * A system message replaces the default system prompt; images go first in their turn, one `<image>\n` each.
 */
export function renderLlavaConversation(
  messages: readonly ChatMessage[],
  system: string,
  imageToken: string,
): RenderedPrompt {
  const systemText = messages
    .filter((m) => m.role === 'system')
    .map((m) => textOf(m, imageToken))
    .join('\n');
  let out = (systemText || system) + ' ';
  let imageCount = 0;
  for (const m of messages) {
    if (m.role === 'system') continue;
    const images = imagesIn(m);
    imageCount += images;
    const body = `${imageToken}\n`.repeat(images) + textOf(m, imageToken);
    out += m.role === 'user' ? `USER: ${body} ` : `ASSISTANT: ${body}</s>`;
  }
  out += 'ASSISTANT:';
  return { text: out, imageCount, addSpecialTokens: true };
}

/** True when a Jinja template reads structured content parts (`{type: 'image'}` / `{type: 'text'}`). */
export function templateUsesContentParts(template: string): boolean {
  return /\[['"]type['"]\]|\.type\b|selectattr\(\s*['"]type['"]/.test(template);
}

/** Messages in the shape chat templates expect: content parts for multimodal templates, else strings. */
export function toTemplateMessages(
  messages: readonly ChatMessage[],
  parts: boolean,
  imageToken: string,
): Message[] {
  return messages.map((m) => {
    const images = imagesIn(m);
    const text = textOf(m, imageToken);
    if (parts) {
      const content: Message['content'] = [
        ...Array.from({ length: images }, () => ({ type: 'image' as const })),
        ...(text || images === 0 ? [{ type: 'text' as const, text }] : []),
      ];
      return { role: m.role, content };
    }
    return { role: m.role, content: `${imageToken}\n`.repeat(images) + text };
  });
}

/**
 * Renders the conversation with the chosen template. 'model' uses the model's Jinja chat_template (through
 * transformers.js / @huggingface/jinja) and falls back to LLaVA v1 when the model has none.
 */
export function renderPrompt(
  messages: readonly ChatMessage[],
  template: TemplateName,
  tokenizer: TextTokenizer,
  imageToken: string,
): RenderedPrompt {
  if (template === 'vicuna_v1') return renderLlavaConversation(messages, VICUNA_V1_SYSTEM, imageToken);
  if (template === 'llava_v1' || tokenizer.chatTemplate === null) {
    return renderLlavaConversation(messages, LLAVA_V1_SYSTEM, imageToken);
  }
  const parts = templateUsesContentParts(tokenizer.chatTemplate);
  const text = tokenizer.renderChatTemplate(toTemplateMessages(messages, parts, imageToken), {
    addGenerationPrompt: true,
  });
  const imageCount = messages.reduce((n, m) => n + imagesIn(m), 0);
  const bos = tokenizer.bosToken;
  return { text, imageCount, addSpecialTokens: !(bos && text.startsWith(bos)) };
}

/** Prompt ids with each image placeholder expanded to its feature rows. */
export interface PromptTokens {
  ids: number[];
  /** Where each image's rows sit in `ids`, in image order. */
  imageSpans: { start: number; length: number }[];
}

/**
 * Tokenises a rendered prompt and expands the k-th image token into `featureCounts[k]` copies, as the Python
 * LLaVA processor does with the number of features the vision tower returns.
 * @throws EngineError('inference-failed') when the template wrote a different number of placeholders than images.
 */
export function tokenizePrompt(
  rendered: RenderedPrompt,
  tokenizer: TextTokenizer,
  imageTokenId: number,
  featureCounts: readonly number[],
): PromptTokens {
  return expandImageTokens(
    tokenizer.encode(rendered.text, rendered.addSpecialTokens),
    imageTokenId,
    featureCounts,
  );
}

/**
 * Expands the k-th image token of already tokenised ids into `featureCounts[k]` copies.
 * @throws EngineError('inference-failed') when the ids hold a different number of placeholders than images.
 */
export function expandImageTokens(
  raw: readonly number[],
  imageTokenId: number,
  featureCounts: readonly number[],
): PromptTokens {
  const placeholders = raw.filter((id) => id === imageTokenId).length;
  if (placeholders !== featureCounts.length) {
    throw new EngineError(
      'inference-failed',
      `The prompt has ${placeholders} image placeholder(s) for ${featureCounts.length} image(s). ` +
        'Pick another conversation template in the settings.',
      { details: { placeholders, images: featureCounts.length } },
    );
  }
  const ids: number[] = [];
  const imageSpans: PromptTokens['imageSpans'] = [];
  let k = 0;
  for (const id of raw) {
    if (id !== imageTokenId) {
      ids.push(id);
      continue;
    }
    const length = featureCounts[k++] as number;
    imageSpans.push({ start: ids.length, length });
    for (let i = 0; i < length; i++) ids.push(imageTokenId);
  }
  return { ids, imageSpans };
}
