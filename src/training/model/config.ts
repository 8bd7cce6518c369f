// Owns the micro LLaVA's shape: the generator's `tiny` preset (CLIP 32×3 on 32 px / 8 px patches, LLaMA 64 wide with
// 4 heads and 2 kv heads, mlp2x_gelu) with one more decoder layer (3: two layers could read the picture but not
// reason over it) and the vocabulary fitted to the micro data's tokenizer. Data, no logic beyond that.

import { getPreset } from '../../modelgen/llava/presets';
import type { LlavaHfConfig } from '../../modelgen/llava/types';
import { llavaDims } from '../../modelgen/llava/weight-spec';

/** Token ids the micro tokenizer assigns (unk 0, bos 1, eos 2, <image> V-2, <pad> V-1, as the builder lays out). */
export interface MicroTokenIds {
  bos: number;
  eos: number;
  image: number;
  pad: number;
}

/** The micro model's llava-hf config for a vocabulary of `vocabSize` ids. */
export function microConfig(vocabSize: number, ids: MicroTokenIds): LlavaHfConfig {
  const base = getPreset('tiny');
  return {
    ...base,
    image_token_index: ids.image,
    pad_token_id: ids.pad,
    text_config: {
      ...base.text_config,
      vocab_size: vocabSize,
      num_hidden_layers: 3,
      max_position_embeddings: 256,
      bos_token_id: ids.bos,
      eos_token_id: ids.eos,
      pad_token_id: ids.pad,
    },
  };
}

/** Sizes derived from a config, in the names the TF.js model uses. */
export interface Dims {
  vHidden: number;
  vHeads: number;
  vLayers: number;
  /** Vision layers actually run: hidden_states[vision_feature_layer] needs only this many. */
  vUsedLayers: number;
  patch: number;
  imageSize: number;
  grid: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  layers: number;
  vocab: number;
  rmsEps: number;
  lnEps: number;
  ropeTheta: number;
}

/** The micro model's {@link Dims}: the generator's derivation ({@link llavaDims}) plus the norms and RoPE base. */
export function dimsOf(config: LlavaHfConfig): Dims {
  const v = config.vision_config;
  const t = config.text_config;
  if (v.model_type !== 'clip_vision_model' || config.vision_feature_select_strategy !== 'default') {
    throw new Error('the micro trainer supports a CLIP tower with the "default" feature strategy only');
  }
  if (t.model_type !== 'llama') throw new Error('the micro trainer supports a LLaMA decoder only');
  const d = llavaDims(config);
  return {
    vHidden: d.visionHidden,
    vHeads: d.visionHeads,
    vLayers: d.visionLayers,
    vUsedLayers: d.visionLayersUsed,
    patch: d.patch,
    imageSize: d.imageSize,
    grid: d.gridSide,
    hidden: d.textHidden,
    heads: d.heads,
    kvHeads: d.kvHeads,
    headDim: d.headDim,
    layers: d.textLayers,
    vocab: d.vocab,
    rmsEps: t.rms_norm_eps,
    lnEps: v.layer_norm_eps,
    ropeTheta: t.rope_theta,
  };
}
