// Owns config.json of a converted folder: the llava-hf config (every size spelled out, so nothing depends on
// Hugging Face's class defaults), `transformers.js_config` for the unsharded components, and our own
// `llava_browser` block describing the decoder shards (its shape: src/shared/model-layout.ts). Pure: returns an object.
import type { Component, LlavaBrowserBlock } from '../../shared/model-layout';
import { configJson } from '../llava/config-files';
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
  // The same config.json the generator writes (config-files.ts), with the source's extra keys and our block added.
  return { ...configJson({ ...config, ...carry }, dtypes, externalChunks), llava_browser: block };
}
