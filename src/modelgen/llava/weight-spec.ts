// Owns the list of tensors (llava-hf names and shapes) that a LLaVA config implies, and the derived dimensions the
// graphs use. No values here: random-weights.ts fills them, a converter checks a checkpoint against them.
import type { LlavaHfConfig } from './types';

/** How a tensor is initialised by the random generator (and what kind of tensor it is). */
export type WeightRole =
  'linear' | 'conv' | 'bias' | 'norm-weight' | 'norm-bias' | 'embedding' | 'position' | 'class' | 'lm-head';

export interface WeightSpec {
  name: string;
  dims: number[];
  role: WeightRole;
}

/** Dimensions derived from a config, named once so every graph agrees. */
export interface LlavaDims {
  visionHidden: number;
  visionHeads: number;
  visionHeadDim: number;
  visionLayers: number;
  /** Encoder layers actually run: index of the selected hidden state (vision_feature_layer -2 → L - 1). */
  visionLayersUsed: number;
  patch: number;
  channels: number;
  imageSize: number;
  gridSide: number;
  numPatches: number;
  hasClassToken: boolean;
  /** Rows of image_features per image: patches (+1 when the CLS token is kept by the 'full' strategy). */
  numImageFeatures: number;
  textHidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  textLayers: number;
  vocab: number;
  intermediate: number;
}

/** Derives {@link LlavaDims}; throws Error on shapes the graphs cannot express (heads not dividing, bad layer). */
export function llavaDims(config: LlavaHfConfig): LlavaDims {
  const v = config.vision_config;
  const t = config.text_config;
  const hasClassToken = v.model_type === 'clip_vision_model';
  const gridSide = Math.floor(v.image_size / v.patch_size);
  const numPatches = gridSide * gridSide;
  const layer = config.vision_feature_layer;
  const visionLayersUsed = layer < 0 ? v.num_hidden_layers + 1 + layer : layer;
  if (visionLayersUsed < 0 || visionLayersUsed > v.num_hidden_layers) {
    throw new Error(`vision_feature_layer ${layer} is out of range for ${v.num_hidden_layers} layers`);
  }
  const headDim = t.head_dim ?? t.hidden_size / t.num_attention_heads;
  if (!Number.isInteger(headDim) || t.num_attention_heads % t.num_key_value_heads !== 0) {
    throw new Error('text_config heads do not divide evenly');
  }
  if (v.hidden_size % v.num_attention_heads !== 0)
    throw new Error('vision_config heads do not divide hidden_size');
  const keepsCls = config.vision_feature_select_strategy === 'full';
  return {
    visionHidden: v.hidden_size,
    visionHeads: v.num_attention_heads,
    visionHeadDim: v.hidden_size / v.num_attention_heads,
    visionLayers: v.num_hidden_layers,
    visionLayersUsed,
    patch: v.patch_size,
    channels: v.num_channels ?? 3,
    imageSize: v.image_size,
    gridSide,
    numPatches,
    hasClassToken,
    numImageFeatures: numPatches + (hasClassToken && keepsCls ? 1 : 0),
    textHidden: t.hidden_size,
    heads: t.num_attention_heads,
    kvHeads: t.num_key_value_heads,
    headDim,
    textLayers: t.num_hidden_layers,
    vocab: t.vocab_size,
    intermediate: t.intermediate_size,
  };
}

/** Every tensor of a llava-hf checkpoint for `config`, in a stable order (see types.ts for the names). */
export function listWeights(config: LlavaHfConfig): WeightSpec[] {
  const d = llavaDims(config);
  const v = config.vision_config;
  const out: WeightSpec[] = [];
  const add = (name: string, dims: number[], role: WeightRole): void => {
    out.push({ name, dims, role });
  };
  const vm = 'vision_tower.vision_model';
  const hv = d.visionHidden;
  add(`${vm}.embeddings.patch_embedding.weight`, [hv, d.channels, d.patch, d.patch], 'conv');
  if (!d.hasClassToken) add(`${vm}.embeddings.patch_embedding.bias`, [hv], 'bias');
  if (d.hasClassToken) add(`${vm}.embeddings.class_embedding`, [hv], 'class');
  add(
    `${vm}.embeddings.position_embedding.weight`,
    [d.numPatches + (d.hasClassToken ? 1 : 0), hv],
    'position',
  );
  if (d.hasClassToken) {
    add(`${vm}.pre_layrnorm.weight`, [hv], 'norm-weight');
    add(`${vm}.pre_layrnorm.bias`, [hv], 'norm-bias');
  }
  for (let i = 0; i < d.visionLayers; i++) {
    const p = `${vm}.encoder.layers.${i}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      add(`${p}.self_attn.${proj}.weight`, [hv, hv], 'linear');
      add(`${p}.self_attn.${proj}.bias`, [hv], 'bias');
    }
    for (const ln of ['layer_norm1', 'layer_norm2']) {
      add(`${p}.${ln}.weight`, [hv], 'norm-weight');
      add(`${p}.${ln}.bias`, [hv], 'norm-bias');
    }
    add(`${p}.mlp.fc1.weight`, [v.intermediate_size, hv], 'linear');
    add(`${p}.mlp.fc1.bias`, [v.intermediate_size], 'bias');
    add(`${p}.mlp.fc2.weight`, [hv, v.intermediate_size], 'linear');
    add(`${p}.mlp.fc2.bias`, [hv], 'bias');
  }
  add(`${vm}.post_layernorm.weight`, [hv], 'norm-weight');
  add(`${vm}.post_layernorm.bias`, [hv], 'norm-bias');

  const D = d.textHidden;
  add('multi_modal_projector.linear_1.weight', [D, hv], 'linear');
  add('multi_modal_projector.linear_1.bias', [D], 'bias');
  if ((config.mm_projector_type ?? 'mlp2x_gelu') === 'mlp2x_gelu') {
    add('multi_modal_projector.linear_2.weight', [D, D], 'linear');
    add('multi_modal_projector.linear_2.bias', [D], 'bias');
  }

  const lm = 'language_model.model';
  const qwen = config.text_config.model_type === 'qwen2';
  add(`${lm}.embed_tokens.weight`, [d.vocab, D], 'embedding');
  for (let i = 0; i < d.textLayers; i++) {
    const p = `${lm}.layers.${i}`;
    const qkv: Array<[string, number]> = [
      ['q_proj', d.heads * d.headDim],
      ['k_proj', d.kvHeads * d.headDim],
      ['v_proj', d.kvHeads * d.headDim],
    ];
    for (const [proj, rows] of qkv) {
      add(`${p}.self_attn.${proj}.weight`, [rows, D], 'linear');
      if (qwen) add(`${p}.self_attn.${proj}.bias`, [rows], 'bias');
    }
    add(`${p}.self_attn.o_proj.weight`, [D, d.heads * d.headDim], 'linear');
    add(`${p}.input_layernorm.weight`, [D], 'norm-weight');
    add(`${p}.post_attention_layernorm.weight`, [D], 'norm-weight');
    add(`${p}.mlp.gate_proj.weight`, [d.intermediate, D], 'linear');
    add(`${p}.mlp.up_proj.weight`, [d.intermediate, D], 'linear');
    add(`${p}.mlp.down_proj.weight`, [D, d.intermediate], 'linear');
  }
  add(`${lm}.norm.weight`, [D], 'norm-weight');
  if (!config.text_config.tie_word_embeddings) add('language_model.lm_head.weight', [d.vocab, D], 'lm-head');
  return out;
}
