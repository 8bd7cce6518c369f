// Owns config.json of a converted folder: the llava-hf config (every size spelled out, so nothing depends on
// Hugging Face's class defaults), `transformers.js_config` for the unsharded components, and our own
// `llava_browser` block describing the decoder shards (its shape: src/shared/model-layout.ts). Pure: returns an object.
import type { Component, LlavaBrowserBlock } from '../../shared/model-layout';
import type { LlavaHfConfig } from '../llava/types';
import type { ConvertDtype } from './shard-plan';

/** config.json of the converted folder. `dtypes` is the precision written for each component. */
export function browserConfigJson(
  config: LlavaHfConfig,
  carry: Record<string, unknown>,
  dtypes: Record<Component, ConvertDtype>,
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
