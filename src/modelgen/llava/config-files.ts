// Owns the JSON side files of a generated LLaVA folder (config, generation, tokenizer, image processor, processor)
// in the shapes llava-hf repos on the hub carry. Pure: returns objects; writing them is model-folder.ts's job.

import type { Component, Dtype } from '../../shared/model-layout';
import type { GraphDtype } from './linear';
import type { LlavaHfConfig } from './types';
import type { BuiltTokenizer } from './tokenizer-json';

/** Weight precisions the generator writes (no fp16: the test WebGPU adapter has no shader-f16). */
export type GenDtype = GraphDtype;

export type JsonObject = Record<string, unknown>;

export const VICUNA_SYSTEM_PROMPT =
  'A chat between a curious human and an artificial intelligence assistant. ' +
  "The assistant gives helpful, detailed, and polite answers to the human's questions.";

/**
 * The Jinja macro both chat templates render a message's content with: a string as it is, or a list of parts with
 * every `<image>` first (one line each), then the text parts, as llava-hf's templates order them.
 */
const RENDER_CONTENT = [
  '{%- macro render(content) -%}',
  '{%- if content is string -%}{{ content }}',
  '{%- else -%}',
  "{%- for part in content -%}{%- if part['type'] == 'image' -%}{{ '<image>\\n' }}{%- endif -%}{%- endfor -%}",
  "{%- for part in content -%}{%- if part['type'] == 'text' -%}{{ part['text'] }}{%- endif -%}{%- endfor -%}",
  '{%- endif -%}',
  '{%- endmacro -%}',
];

/**
 * Vicuna-v1 conversation as LLaVA-1.5 was trained on it:
 * `{system} USER: <image>\n{text} ASSISTANT: {answer}</s>USER: ... ASSISTANT:`.
 * Content may be a string or a list of `{type: 'image'}` / `{type: 'text', text}` parts; images go first, as in
 * llava-hf's templates. A leading system message replaces the default system prompt. No `<s>`: the tokenizer adds
 * BOS when the rendered prompt is encoded with special tokens, as llava-hf's processor does.
 */
export const VICUNA_CHAT_TEMPLATE = [
  ...RENDER_CONTENT,
  "{%- if messages and messages[0]['role'] == 'system' -%}",
  "{{ render(messages[0]['content']) + ' ' }}",
  '{%- set start = 1 -%}',
  '{%- else -%}',
  `{{ '${VICUNA_SYSTEM_PROMPT.replace(/'/g, "\\'")} ' }}`,
  '{%- set start = 0 -%}',
  '{%- endif -%}',
  '{%- for message in messages[start:] -%}',
  "{%- if message['role'] == 'user' -%}",
  "{{ 'USER: ' + render(message['content']) + ' ' }}",
  "{%- elif message['role'] == 'assistant' -%}",
  "{{ 'ASSISTANT: ' + render(message['content']) + eos_token }}",
  '{%- endif -%}',
  '{%- endfor -%}',
  "{%- if add_generation_prompt -%}{{ 'ASSISTANT:' }}{%- endif -%}",
].join('');

/**
 * config.json: the preset's (or checkpoint's) config, llava-hf keys, and `transformers.js_config` with the default
 * precision (a string, or a per-component map) and, when weights are external, the number of data files of each .onnx.
 * The generator and the converter both write it through here.
 */
export function configJson(
  config: LlavaHfConfig,
  dtype: Dtype | Partial<Record<Component, Dtype>>,
  externalDataChunks: Record<string, number> = {},
): JsonObject {
  const tjs: JsonObject = { dtype };
  if (Object.keys(externalDataChunks).length > 0) tjs.use_external_data_format = externalDataChunks;
  const { 'transformers.js_config': _ignored, ...rest } = config;
  return {
    ...rest,
    model_type: 'llava',
    architectures: ['LlavaForConditionalGeneration'],
    'transformers.js_config': tjs,
  };
}

export function generationConfigJson(config: LlavaHfConfig, tokenizer: BuiltTokenizer): JsonObject {
  return {
    _from_model_config: true,
    bos_token_id: tokenizer.ids.bos,
    eos_token_id: tokenizer.ids.eos,
    pad_token_id: config.pad_token_id ?? tokenizer.ids.pad,
  };
}

/**
 * ChatML as llava-interleave-qwen uses it: `<|im_start|>{role}\n<image>\n{text}<|im_end|>\n`, images first, no
 * default system prompt, `<|im_start|>assistant\n` as the generation prompt. Content may be a string or parts.
 */
export const CHATML_CHAT_TEMPLATE = [
  ...RENDER_CONTENT,
  '{%- for message in messages -%}',
  "{{ '<|im_start|>' + message['role'] + '\\n' + render(message['content']) + '<|im_end|>\\n' }}",
  '{%- endfor -%}',
  "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}",
].join('');

/**
 * tokenizer_config.json: LlamaTokenizer with BOS and the Vicuna template, or Qwen2Tokenizer (no BOS, EOS
 * `<|im_end|>`) with the ChatML template, following the family of the built tokenizer.
 */
export function tokenizerConfigJson(config: LlavaHfConfig, tokenizer: BuiltTokenizer): JsonObject {
  const addedTokensDecoder: JsonObject = {};
  for (const t of tokenizer.json.added_tokens) {
    addedTokensDecoder[String(t.id)] = {
      content: t.content,
      lstrip: t.lstrip,
      normalized: t.normalized,
      rstrip: t.rstrip,
      single_word: t.single_word,
      special: t.special,
    };
  }
  const llama = tokenizer.family === 'llama';
  return {
    ...(llama ? { add_bos_token: true, add_eos_token: false } : {}),
    added_tokens_decoder: addedTokensDecoder,
    bos_token: tokenizer.special.bos,
    chat_template: llama ? VICUNA_CHAT_TEMPLATE : CHATML_CHAT_TEMPLATE,
    // Decoding must give back the exact text (streamed deltas are compared byte for byte).
    clean_up_tokenization_spaces: false,
    eos_token: tokenizer.special.eos,
    ...(llama ? {} : { errors: 'replace', split_special_tokens: false }),
    model_max_length: config.text_config.max_position_embeddings,
    pad_token: tokenizer.special.pad,
    padding_side: 'left',
    processor_class: 'LlavaProcessor',
    tokenizer_class: llama ? 'LlamaTokenizer' : 'Qwen2Tokenizer',
    unk_token: tokenizer.special.unk,
  };
}

const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** preprocessor_config.json: CLIPImageProcessor (shortest-edge resize + centre crop) or SiglipImageProcessor. */
export function preprocessorConfigJson(config: LlavaHfConfig): JsonObject {
  const size = config.vision_config.image_size;
  if (config.vision_config.model_type === 'siglip_vision_model') {
    return {
      do_convert_rgb: true,
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      image_mean: [0.5, 0.5, 0.5],
      image_processor_type: 'SiglipImageProcessor',
      image_std: [0.5, 0.5, 0.5],
      processor_class: 'LlavaProcessor',
      resample: 3,
      rescale_factor: 1 / 255,
      size: { height: size, width: size },
    };
  }
  return {
    crop_size: { height: size, width: size },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: CLIP_MEAN,
    image_processor_type: 'CLIPImageProcessor',
    image_std: CLIP_STD,
    processor_class: 'LlavaProcessor',
    resample: 3,
    rescale_factor: 1 / 255,
    size: { shortest_edge: size },
  };
}

/** How many feature rows the vision encoder returns per image beyond the (H/p)·(W/p) patches. */
export function extraImageFeatures(config: LlavaHfConfig): number {
  const hasCls = config.vision_config.model_type === 'clip_vision_model';
  return hasCls && config.vision_feature_select_strategy === 'full' ? 1 : 0;
}

/**
 * processor_config.json. `num_additional_image_tokens` is set so that transformers.js's LlavaProcessor, which
 * expands `<image>` to (H/p)·(W/p) + num_additional_image_tokens copies, produces exactly as many image tokens as
 * the vision encoder returns features: 0 for CLIP with the "default" strategy (CLS dropped) and for SigLIP, 1 for
 * CLIP with "full". Hub llava-hf repos write 1 with "default", which the Python processor offsets by subtracting
 * the CLS again; that file would make transformers.js put one image token too many, and this one would make the
 * Python processor put one too few. The engine counts the encoder's real output instead of trusting either.
 */
export function processorConfigJson(config: LlavaHfConfig): JsonObject {
  return {
    image_token: '<image>',
    num_additional_image_tokens: extraImageFeatures(config),
    patch_size: config.vision_config.patch_size,
    processor_class: 'LlavaProcessor',
    vision_feature_select_strategy: config.vision_feature_select_strategy,
  };
}

/** Serialises JSON the way the generated folder stores it (stable key order from the builders, 2-space indent). */
export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}
