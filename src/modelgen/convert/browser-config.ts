// Owns config.json of a converted folder: the llava-hf config (every size spelled out, so nothing depends on
// Hugging Face's class defaults), `transformers.js_config` for the unsharded components, and our own
// `llava_browser` block describing the decoder shards. Pure: returns an object.
import type { LlavaComponent } from '../llava/build-all';
import type { LlavaHfConfig } from '../llava/types';
import type { ConvertDtype } from './shard-plan';

/** Version of the `llava_browser` block; readers refuse a newer one. */
export const LLAVA_BROWSER_FORMAT = 1;

/** One decoder shard as config.json lists it. */
export interface DecoderShardInfo {
  /** The .onnx file, relative to the folder. */
  file: string;
  /** Global layers [start, end) it runs; its past/present names keep the global index. */
  layers: [number, number];
  /** External data files, relative to the folder, in order. */
  external_data: string[];
  /** Bytes of the shard's weights. */
  weight_bytes: number;
}

/**
 * The `llava_browser` block: how the decoder is split. A single shard is the ordinary
 * `decoder_model_merged{suffix}.onnx` (loadable by transformers.js too); several shards run in sequence, the first
 * taking `inputs_embeds`, each later one the `hidden_states` the previous returned as `hidden_states_out`.
 */
export interface LlavaBrowserBlock {
  format: number;
  decoder_dtype: ConvertDtype;
  decoder_shards: DecoderShardInfo[];
  converted_from: { naming: string; family: string; checkpoint_dtypes: string[] };
}

/** config.json of the converted folder. `dtypes` is the precision written for each component. */
export function browserConfigJson(
  config: LlavaHfConfig,
  carry: Record<string, unknown>,
  dtypes: Record<LlavaComponent, ConvertDtype>,
  externalChunks: Record<string, number>,
  block: LlavaBrowserBlock,
): Record<string, unknown> {
  const { 'transformers.js_config': _dropped, ...rest } = config;
  const tjs: Record<string, unknown> = { dtype: dtypes };
  if (Object.keys(externalChunks).length > 0) tjs.use_external_data_format = externalChunks;
  return {
    ...rest,
    ...carry,
    model_type: 'llava',
    architectures: ['LlavaForConditionalGeneration'],
    'transformers.js_config': tjs,
    llava_browser: block,
  };
}
