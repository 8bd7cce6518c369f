// Owns the in-memory description of a LLaVA checkpoint shared by the generator, the converter, the micro trainer
// and the float64 reference: the HF config shape and the weight map in llava-hf tensor names. No I/O here.

/** A float tensor in PyTorch layout (Linear weights are [out_features, in_features]). */
export interface F32Tensor {
  dims: number[];
  data: Float32Array;
}

/**
 * Weights keyed by llava-hf names, e.g.
 *   vision_tower.vision_model.embeddings.patch_embedding.weight      [Hv, 3, p, p]   (CLIP: no bias; SigLIP: + .bias)
 *   vision_tower.vision_model.embeddings.class_embedding             [Hv]            (CLIP only)
 *   vision_tower.vision_model.embeddings.position_embedding.weight   [N(+1), Hv]
 *   vision_tower.vision_model.pre_layrnorm.{weight,bias}             (CLIP only; the typo is HF's)
 *   vision_tower.vision_model.encoder.layers.{i}.self_attn.{q,k,v,out}_proj.{weight,bias}
 *   vision_tower.vision_model.encoder.layers.{i}.layer_norm{1,2}.{weight,bias}
 *   vision_tower.vision_model.encoder.layers.{i}.mlp.fc{1,2}.{weight,bias}
 *   vision_tower.vision_model.post_layernorm.{weight,bias}          (never applied to the selected layer, as in HF)
 *   multi_modal_projector.linear_1.{weight,bias}, multi_modal_projector.linear_2.{weight,bias}  (linear: linear_1 only)
 *   language_model.model.embed_tokens.weight                         [V, D]
 *   language_model.model.layers.{i}.self_attn.{q,k,v,o}_proj.weight (Qwen2: q/k/v also .bias)
 *   language_model.model.layers.{i}.{input_layernorm,post_attention_layernorm}.weight
 *   language_model.model.layers.{i}.mlp.{gate,up,down}_proj.weight
 *   language_model.model.norm.weight
 *   language_model.lm_head.weight                                    [V, D]
 */
export type WeightMap = Map<string, F32Tensor>;

export interface VisionConfig {
  model_type: 'clip_vision_model' | 'siglip_vision_model';
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  image_size: number;
  patch_size: number;
  num_channels?: number;
  hidden_act: 'quick_gelu' | 'gelu_pytorch_tanh' | 'gelu';
  layer_norm_eps: number;
  projection_dim?: number;
}

export interface TextConfig {
  model_type: 'llama' | 'qwen2';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  hidden_act: 'silu';
  tie_word_embeddings: boolean;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  pad_token_id?: number;
  head_dim?: number;
}

/** config.json of a llava-hf model (the names are the hub's; model-config.ts converts them to camelCase once). */
export interface LlavaHfConfig {
  model_type: 'llava';
  architectures: string[];
  image_token_index: number;
  projector_hidden_act: 'gelu';
  /** Not in every hub config; 'mlp2x_gelu' when absent. */
  mm_projector_type?: 'linear' | 'mlp2x_gelu';
  vision_feature_layer: number;
  vision_feature_select_strategy: 'default' | 'full';
  vision_config: VisionConfig;
  text_config: TextConfig;
  pad_token_id?: number;
  ignore_index?: number;
  'transformers.js_config'?: Record<string, unknown>;
  [key: string]: unknown;
}
