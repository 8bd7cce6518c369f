// Owns deciding, from a model's small files alone (config, tokenizer, processor and template files), whether the
// engine can run it: the same parsing the loader does, the image token, a picture placed by the chat template, the
// image tokens against the context window, and the largest weights the config implies against the GPU's buffer
// limits. It never reads weights and never fetches: callers hand it a reader of files they already hold.

import { throwIfAborted } from '../shared/abort';
import { EngineError } from '../shared/errors';
import { formatBytes } from '../shared/format-bytes';
import type { ChatMessage, Component, Dtype, SmallFileReader } from '../shared/protocol';
import { tensorLimit } from './buffer-limits';
import { parseModelConfig, type ModelConfig } from './model-config';
import { findImageToken } from './model-loader';
import { expandImageTokens, renderPrompt } from './prompt';
import type { BufferLimits } from './runtime';
import { createTokenizer } from './tokenizer';

export interface PreflightOptions {
  /** The precisions that will be downloaded. */
  dtype: Record<Component, Dtype>;
  /** The GPU's buffer limits where sessions will run on WebGPU; absent for WASM/CPU (no per-buffer limit). */
  bufferLimits?: BufferLimits | undefined;
  signal?: AbortSignal | undefined;
}

export interface PreflightReport {
  modelType: string;
  imageToken: string;
  imageTokenId: number;
  /** Image tokens one picture takes (the encoder's output count as the config implies it). */
  imageTokensPerPicture: number;
  contextLength: number;
  /** Prompt ids of a one-picture question through the model's template, pictures expanded. */
  samplePromptTokens: number;
  /** The largest weight the config implies, at the least bytes its dtype can take. */
  largestWeight: { name: string; bytes: number };
  /** What the engine does differently from the model's Python processor, in plain words; null when nothing. */
  caveat: string | null;
}

/** Least bytes one weight takes in each precision (q4 packs two per byte; its scales come on top). */
const LEAST_BYTES: Record<Dtype, number> = { fp32: 4, fp16: 2, q8: 1, q4: 0.5, q4f16: 0.5 };

const decoder = new TextDecoder();

async function readJson(read: SmallFileReader, path: string, required: boolean): Promise<unknown> {
  const bytes = await read(path);
  if (bytes === null) {
    if (required)
      throw new EngineError(
        'bad-model',
        `The model has no ${path}; it is not a model folder this app can run.`,
      );
    return undefined;
  }
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch (cause) {
    throw new EngineError('bad-model', `The model's ${path} is not valid JSON.`, { cause });
  }
}

async function chatTemplateOf(read: SmallFileReader): Promise<string | null> {
  const json = (await readJson(read, 'chat_template.json', false)) as { chat_template?: unknown } | undefined;
  if (typeof json?.chat_template === 'string') return json.chat_template;
  const jinja = await read('chat_template.jinja');
  return jinja === null ? null : decoder.decode(jinja);
}

/** The two vocabulary-sized tables (embed_tokens, lm_head) dwarf every other weight of a LLaVA decoder. */
function largestWeight(
  config: ModelConfig,
  dtype: Record<Component, Dtype>,
): PreflightReport['largestWeight'] {
  const { vocabSize, hiddenSize } = config.text;
  const embed = vocabSize * hiddenSize * LEAST_BYTES[dtype.embed_tokens];
  const head = vocabSize * hiddenSize * LEAST_BYTES[dtype.decoder_model_merged];
  return embed >= head
    ? { name: `embed_tokens [${vocabSize} × ${hiddenSize}] (${dtype.embed_tokens})`, bytes: embed }
    : { name: `lm_head [${vocabSize} × ${hiddenSize}] (${dtype.decoder_model_merged})`, bytes: head };
}

/**
 * Runs the engine's own parsing on a model's small files and refuses, with the reason, a model it cannot run.
 * @throws EngineError 'bad-model' (files missing, unreadable or inconsistent: no image token, a template that does
 * not place the picture) or 'unsupported' (a model type the engine does not run, a picture that fills the context
 * window, a weight over the GPU's buffer limit). The loader repeats the parsing, so an imported folder gets the
 * same refusals.
 */
export async function preflightModel(
  read: SmallFileReader,
  options: PreflightOptions,
): Promise<PreflightReport> {
  const { signal } = options;
  const config = parseModelConfig({
    config: await readJson(read, 'config.json', true),
    generationConfig: await readJson(read, 'generation_config.json', false),
    preprocessorConfig: await readJson(read, 'preprocessor_config.json', false),
    processorConfig: await readJson(read, 'processor_config.json', false),
  });
  throwIfAborted(signal);
  const tokenizer = createTokenizer(
    await readJson(read, 'tokenizer.json', true),
    (await readJson(read, 'tokenizer_config.json', false)) ?? {},
    await chatTemplateOf(read),
  );
  const imageToken = findImageToken(config, tokenizer);

  const question: ChatMessage = {
    role: 'user',
    content: [
      { type: 'image', image: { width: 1, height: 1, data: new Uint8ClampedArray(4) } },
      { type: 'text', text: 'What is in this picture?' },
    ],
  };
  const rendered = renderPrompt([question], 'model', tokenizer, imageToken);
  let promptTokens: number;
  try {
    promptTokens = expandImageTokens(
      tokenizer.encode(rendered.text, rendered.addSpecialTokens),
      config.imageTokenId,
      [config.estimatedImageFeatures],
    ).ids.length;
  } catch (cause) {
    throw new EngineError(
      'bad-model',
      "The model's chat template does not place a picture in the prompt, so it could never see one.",
      { cause },
    );
  }
  if (promptTokens >= config.text.contextLength) {
    throw new EngineError(
      'unsupported',
      `One picture takes ${config.estimatedImageFeatures} tokens, more than this model's context window of ` +
        `${config.text.contextLength}.`,
    );
  }

  const largest = largestWeight(config, options.dtype);
  if (options.bufferLimits && largest.bytes > tensorLimit(options.bufferLimits)) {
    throw new EngineError(
      'unsupported',
      `The weight ${largest.name} takes at least ${formatBytes(largest.bytes)}, more than this GPU can hold in one ` +
        `buffer (${formatBytes(tensorLimit(options.bufferLimits))}). Choose a more strongly quantized variant, or the WASM backend.`,
      { details: { tensor: largest.name, bytes: largest.bytes, limit: tensorLimit(options.bufferLimits) } },
    );
  }
  return {
    modelType: config.modelType,
    imageToken,
    imageTokenId: config.imageTokenId,
    imageTokensPerPicture: config.estimatedImageFeatures,
    contextLength: config.text.contextLength,
    samplePromptTokens: promptTokens,
    largestWeight: largest,
    caveat: config.caveat,
  };
}
