// Owns the vision configs of the CLIP towers original LLaVA checkpoints name in `mm_vision_tower` (data, not logic),
// for checkpoints that embed the tower's weights but not its config. Values from the towers' own config.json.
import type { VisionConfig } from '../llava/types';

const CLIP_L14 = {
  model_type: 'clip_vision_model',
  hidden_size: 1024,
  intermediate_size: 4096,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  patch_size: 14,
  num_channels: 3,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
  projection_dim: 768,
} as const;

export const KNOWN_VISION_TOWERS: Readonly<Record<string, VisionConfig>> = {
  'openai/clip-vit-large-patch14-336': { ...CLIP_L14, image_size: 336 },
  'openai/clip-vit-large-patch14': { ...CLIP_L14, image_size: 224 },
};
