// Owns the conversion of a model folder's JSON files (hub names) into one camelCase ModelConfig, once.
// Pure: it parses objects handed to it and never reads files or fetches anything.

import { EngineError } from '../shared/errors';
import { COMPONENTS, isDtype, type Component, type Dtype } from '../shared/model-layout';
import type { DtypeChoice } from '../shared/protocol';

/** How pixels become `pixel_values`; see image-preprocess.ts. */
export interface ImagePreprocessConfig {
  /** 'pad': LLaVA-1.5's expand-to-square with the mean colour before the plain steps; 'plain': the processor's steps only. */
  mode: 'pad' | 'plain';
  doResize: boolean;
  /** `shortestEdge` keeps the aspect ratio; `height`/`width` resizes to a fixed size (SigLIP). */
  size: { shortestEdge: number } | { height: number; width: number };
  /** PIL resample code: 0 nearest, 2 bilinear, 3 bicubic. */
  resample: number;
  doCenterCrop: boolean;
  cropSize: { height: number; width: number };
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

export interface ModelConfig {
  modelType: string;
  /** What the engine does differently from the model's Python processor, in plain words; null when nothing. */
  caveat: string | null;
  imageTokenId: number;
  /** The placeholder string the prompt uses for an image (processor_config.image_token, else the token's text). */
  imageToken: string | null;
  visionFeatureSelectStrategy: string;
  text: {
    modelType: string;
    vocabSize: number;
    hiddenSize: number;
    numLayers: number;
    numAttentionHeads: number;
    numKeyValueHeads: number;
    headDim: number;
    /** Context window in tokens (max_position_embeddings). */
    contextLength: number;
  };
  vision: { modelType: string; imageSize: number; patchSize: number };
  /** Estimated features per image (the encoder's real output count wins at run time). */
  estimatedImageFeatures: number;
  eosTokenIds: number[];
  bosTokenId: number | null;
  padTokenId: number | null;
  image: ImagePreprocessConfig;
  /** transformers.js_config: preferred dtype and external data chunk counts. */
  preferredDtype: DtypeChoice | null;
  externalDataChunks: Record<string, number> | number | boolean | null;
}

/** The raw JSON files of a model folder; only config.json is required. */
export interface RawModelFiles {
  config: unknown;
  generationConfig?: unknown;
  preprocessorConfig?: unknown;
  processorConfig?: unknown;
}

type Json = Record<string, unknown>;

function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function requireNum(o: Json, key: string, file: string): number {
  const v = num(o[key]);
  if (v === undefined)
    throw new EngineError('bad-model', `The model's ${file} has no numeric "${key}". Re-export the model.`);
  return v;
}

function idList(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value)) return value.filter((v): v is number => typeof v === 'number');
  return [];
}

function triple(value: unknown, fallback: [number, number, number]): [number, number, number] {
  if (typeof value === 'number') return [value, value, value];
  if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'number')) {
    return [value[0] as number, value[1] as number, value[2] as number];
  }
  return fallback;
}

function hw(value: unknown): { height: number; width: number } | undefined {
  if (typeof value === 'number') return { height: value, width: value };
  const o = obj(value);
  const h = num(o.height);
  const w = num(o.width);
  return h !== undefined && w !== undefined ? { height: h, width: w } : undefined;
}

function parseDtypeChoice(value: unknown): DtypeChoice | null {
  if (typeof value === 'string') return isDtype(value) ? value : null;
  const o = obj(value);
  const out: Partial<Record<Component, Dtype>> = {};
  for (const c of COMPONENTS) {
    const v = o[c];
    if (isDtype(v)) out[c] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * Image preprocessing settings. Pad mode is LLaVA-1.5's `image_aspect_ratio: "pad"` (config.json) or a
 * preprocessor that asks for `do_pad` (llava-hf's LlavaImageProcessor); everything else is the plain processor.
 */
export function parseImagePreprocess(
  preprocessor: unknown,
  config: unknown,
  visionImageSize: number,
): ImagePreprocessConfig {
  const p = obj(preprocessor);
  const c = obj(config);
  const sizeRaw = p.size ?? p.image_size;
  let size: ImagePreprocessConfig['size'];
  const sizeObj = obj(sizeRaw);
  if (typeof sizeRaw === 'number') size = { shortestEdge: sizeRaw };
  else if (num(sizeObj.shortest_edge) !== undefined)
    size = { shortestEdge: num(sizeObj.shortest_edge) as number };
  else size = hw(sizeRaw) ?? { height: visionImageSize, width: visionImageSize };
  const doCenterCrop = p.do_center_crop === true;
  const cropSize =
    hw(p.crop_size) ?? ('height' in size ? size : { height: size.shortestEdge, width: size.shortestEdge });
  const pad =
    c.image_aspect_ratio === 'pad' ||
    (p.do_pad === true && str(p.image_processor_type) === 'LlavaImageProcessor');
  return {
    mode: pad ? 'pad' : 'plain',
    doResize: p.do_resize !== false,
    size,
    resample: num(p.resample) ?? 3,
    doCenterCrop,
    cropSize,
    doRescale: p.do_rescale !== false,
    rescaleFactor: num(p.rescale_factor) ?? 1 / 255,
    doNormalize: p.do_normalize !== false,
    imageMean: triple(p.image_mean ?? p.mean, [0.5, 0.5, 0.5]),
    imageStd: triple(p.image_std ?? p.std, [0.5, 0.5, 0.5]),
  };
}

/** config.json model types the engine runs, and what it does differently for each. */
const RUNNABLE: Record<string, string | null> = {
  llava: null,
  llava_qwen2: null,
  llava_onevision:
    'Pictures are seen as a single 384 px view; the Python model adds tiles of the picture on top (anyres).',
};

/** Model types that look like LLaVA but need processing the engine does not do, with the reason. */
const REFUSED: Record<string, string> = {
  llava_next:
    'LLaVA-NeXT needs its "anyres" picture tiles and an image_newline row per line, which this engine does not build.',
  llava_next_video: 'LLaVA-NeXT-Video needs video frames and anyres tiles, which this engine does not build.',
};

/**
 * The caveat of a model type the engine runs.
 * @throws EngineError('unsupported') naming why for any other type.
 */
export function modelTypeCaveat(modelType: string): string | null {
  const refused = REFUSED[modelType];
  if (refused)
    throw new EngineError('unsupported', `${refused} Pick another model.`, { details: { modelType } });
  if (!(modelType in RUNNABLE)) {
    throw new EngineError(
      'unsupported',
      `This model's type "${modelType}" is not a LLaVA model this app runs (it runs ${Object.keys(RUNNABLE).join(', ')}).`,
      { details: { modelType } },
    );
  }
  return RUNNABLE[modelType] ?? null;
}

/**
 * What transformers' LlamaConfig / Qwen2Config assume for keys a config.json leaves out. llava-hf's LLaVA-1.5
 * configs rely on them: their text_config names only the vocabulary and context sizes.
 */
const TEXT_CONFIG_DEFAULTS: Record<string, Json> = {
  llama: {
    vocab_size: 32000,
    hidden_size: 4096,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 2048,
  },
  qwen2: {
    vocab_size: 151936,
    hidden_size: 4096,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    max_position_embeddings: 32768,
  },
};

/**
 * Parses a LLaVA-family model folder's configs into camelCase.
 * @throws EngineError('bad-model') when config.json lacks what the engine needs; 'unsupported' for a model type
 * the engine does not run (see {@link modelTypeCaveat}).
 */
export function parseModelConfig(files: RawModelFiles): ModelConfig {
  const c = obj(files.config);
  const given = obj(c.text_config);
  const t = { ...(TEXT_CONFIG_DEFAULTS[str(given.model_type) ?? 'llama'] ?? {}), ...given };
  const v = obj(c.vision_config);
  const gen = obj(files.generationConfig);
  const proc = obj(files.processorConfig);
  const tjs = obj(c['transformers.js_config']);
  if (Object.keys(given).length === 0) {
    throw new EngineError(
      'bad-model',
      'The model has no text_config in config.json; it is not a LLaVA-family model.',
    );
  }
  const modelType = str(c.model_type) ?? 'llava';
  const caveat = modelTypeCaveat(modelType);
  const imageTokenId = num(c.image_token_index) ?? num(c.image_token_id);
  if (imageTokenId === undefined) {
    throw new EngineError(
      'bad-model',
      'The model has no image_token_index in config.json; it cannot take images.',
    );
  }
  const hiddenSize = requireNum(t, 'hidden_size', 'text_config');
  const numAttentionHeads = requireNum(t, 'num_attention_heads', 'text_config');
  const imageSize = num(v.image_size) ?? 336;
  const patchSize = num(proc.patch_size) ?? num(v.patch_size) ?? 14;
  const strategy =
    str(c.vision_feature_select_strategy) ?? str(proc.vision_feature_select_strategy) ?? 'default';
  const patches = Math.floor(imageSize / patchSize) ** 2;
  const hasCls = str(v.model_type) !== 'siglip_vision_model';
  const eos = idList(gen.eos_token_id);
  const eosTokenIds =
    eos.length > 0
      ? eos
      : idList(t.eos_token_id).length > 0
        ? idList(t.eos_token_id)
        : idList(c.eos_token_id);
  return {
    modelType,
    caveat,
    imageTokenId,
    imageToken: str(proc.image_token) ?? null,
    visionFeatureSelectStrategy: strategy,
    text: {
      modelType: str(t.model_type) ?? 'llama',
      vocabSize: requireNum(t, 'vocab_size', 'text_config'),
      hiddenSize,
      numLayers: requireNum(t, 'num_hidden_layers', 'text_config'),
      numAttentionHeads,
      numKeyValueHeads: num(t.num_key_value_heads) ?? numAttentionHeads,
      headDim: num(t.head_dim) ?? hiddenSize / numAttentionHeads,
      contextLength: num(t.max_position_embeddings) ?? num(gen.max_length) ?? 4096,
    },
    vision: { modelType: str(v.model_type) ?? 'clip_vision_model', imageSize, patchSize },
    estimatedImageFeatures: patches + (hasCls && strategy === 'full' ? 1 : 0),
    eosTokenIds: [...new Set(eosTokenIds)],
    bosTokenId: num(gen.bos_token_id) ?? num(t.bos_token_id) ?? num(c.bos_token_id) ?? null,
    padTokenId: num(gen.pad_token_id) ?? num(c.pad_token_id) ?? num(t.pad_token_id) ?? null,
    image: parseImagePreprocess(files.preprocessorConfig, files.config, imageSize),
    preferredDtype: parseDtypeChoice(tjs.dtype),
    externalDataChunks: parseExternalData(tjs.use_external_data_format),
  };
}

function parseExternalData(value: unknown): ModelConfig['externalDataChunks'] {
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  const o = obj(value);
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(o)) {
    if (typeof x === 'number') out[k] = x;
    else if (typeof x === 'boolean') out[k] = x ? 1 : 0;
  }
  return Object.keys(out).length > 0 ? out : null;
}
