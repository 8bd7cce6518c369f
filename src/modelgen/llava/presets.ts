// Owns the named model shapes the generator can build (data, not logic): tiny test models, a benchmark model and a
// TinyLlama-sized one. Token ids follow the tokenizer builder: unk 0, bos 1, eos 2, <image> V-2, <pad> V-1.
import type { LlavaHfConfig, TextConfig, VisionConfig } from './types';

/** Names accepted by {@link getPreset}. */
export type PresetName = 'tiny' | 'tiny-qwen-siglip' | 'bench' | 'large';

/** All preset names, for command-line help and loops in tests. */
export const PRESET_NAMES: readonly PresetName[] = ['tiny', 'tiny-qwen-siglip', 'bench', 'large'];

function text(
  shape: Omit<
    TextConfig,
    | 'rms_norm_eps'
    | 'rope_theta'
    | 'hidden_act'
    | 'tie_word_embeddings'
    | 'bos_token_id'
    | 'eos_token_id'
    | 'pad_token_id'
  > &
    Partial<TextConfig>,
): TextConfig {
  return {
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: shape.vocab_size - 1,
    ...shape,
  };
}

function clip(
  shape: Pick<
    VisionConfig,
    | 'hidden_size'
    | 'intermediate_size'
    | 'num_hidden_layers'
    | 'num_attention_heads'
    | 'image_size'
    | 'patch_size'
  >,
): VisionConfig {
  return {
    model_type: 'clip_vision_model',
    num_channels: 3,
    hidden_act: 'quick_gelu',
    layer_norm_eps: 1e-5,
    ...shape,
  };
}

function llava(
  vision: VisionConfig,
  textConfig: TextConfig,
  extra: Partial<LlavaHfConfig> = {},
): LlavaHfConfig {
  const v = textConfig.vocab_size;
  return {
    model_type: 'llava',
    architectures: ['LlavaForConditionalGeneration'],
    image_token_index: v - 2,
    projector_hidden_act: 'gelu',
    mm_projector_type: 'mlp2x_gelu',
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
    vision_config: vision,
    text_config: textConfig,
    pad_token_id: v - 1,
    ignore_index: -100,
    ...extra,
  };
}

const TINY_TEXT = {
  vocab_size: 512,
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 512,
};

const TINY_VISION = {
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 3,
  num_attention_heads: 2,
  image_size: 32,
  patch_size: 8,
};

const VIT_B16 = {
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  image_size: 224,
  patch_size: 16,
};

/**
 * Returns a fresh, complete llava-hf config for a preset:
 * - `tiny`: LLaMA 64 × 2 layers (4 heads, 2 kv heads), vocab 512 + CLIP 32 × 3 layers, 32 px / 8 px → 16 image tokens.
 * - `tiny-qwen-siglip`: same scale, Qwen2 decoder (q/k/v biases) + SigLIP tower, layer -1, 'full' strategy.
 * - `bench`: ViT-B/16 (224 px → 196 tokens) + LLaMA 1024 × 16 layers (16 heads, 8 kv), vocab 32000: ~350 M params.
 * - `large`: ViT-B/16 + TinyLlama shape (2048 × 22 layers, 32 heads, 4 kv, intermediate 5632): ~1.2 B params.
 */
export function getPreset(name: PresetName): LlavaHfConfig {
  switch (name) {
    case 'tiny':
      return llava(clip(TINY_VISION), text({ model_type: 'llama', ...TINY_TEXT }));
    case 'tiny-qwen-siglip':
      return llava(
        {
          model_type: 'siglip_vision_model',
          num_channels: 3,
          hidden_act: 'gelu_pytorch_tanh',
          layer_norm_eps: 1e-6,
          ...TINY_VISION,
        },
        text({ model_type: 'qwen2', ...TINY_TEXT, rms_norm_eps: 1e-6, rope_theta: 1000000 }),
        { vision_feature_layer: -1, vision_feature_select_strategy: 'full' },
      );
    case 'bench':
      return llava(
        clip(VIT_B16),
        text({
          model_type: 'llama',
          vocab_size: 32000,
          hidden_size: 1024,
          intermediate_size: 2816,
          num_hidden_layers: 16,
          num_attention_heads: 16,
          num_key_value_heads: 8,
          max_position_embeddings: 2048,
        }),
      );
    case 'large':
      return llava(
        clip(VIT_B16),
        text({
          model_type: 'llama',
          vocab_size: 32000,
          hidden_size: 2048,
          intermediate_size: 5632,
          num_hidden_layers: 22,
          num_attention_heads: 32,
          num_key_value_heads: 4,
          max_position_embeddings: 2048,
        }),
      );
  }
}

/** Every preset's config by name (built once; treat as read-only, or call {@link getPreset} for a fresh copy). */
export const presets: Readonly<Record<PresetName, LlavaHfConfig>> = {
  tiny: getPreset('tiny'),
  'tiny-qwen-siglip': getPreset('tiny-qwen-siglip'),
  bench: getPreset('bench'),
  large: getPreset('large'),
};
