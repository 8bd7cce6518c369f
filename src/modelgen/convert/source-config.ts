// Owns reading a checkpoint's config.json (llava-hf or the original LLaVA repo's, plus a separate CLIP config) into
// the complete llava-hf config the graph builders take, filling Hugging Face's class defaults for omitted fields and
// refusing what the graphs cannot express. Pure: parsed JSON in, config out.
import type { LlavaHfConfig, TextConfig, VisionConfig } from '../llava/types';
import { ConvertError } from './errors';
import { KNOWN_VISION_TOWERS } from './known-towers';

type Json = Record<string, unknown>;

/** Which config.json family the checkpoint came with. */
export type ConfigFamily = 'llava-hf' | 'original';

export interface SourceConfig {
  family: ConfigFamily;
  config: LlavaHfConfig;
  /** Settings carried into the output config.json untouched (e.g. the original repo's image_aspect_ratio). */
  carry: Json;
  /** True when the config fixed the image token id (llava-hf); the original repo has none until we add one. */
  imageTokenFixed: boolean;
}

const obj = (v: unknown): Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function unsupported(message: string): ConvertError {
  return new ConvertError(
    'unsupported-architecture',
    `${message} The converter handles LLaVA-1.0/1.5 models: a ` +
      'LLaMA (Vicuna) or Qwen2 decoder with a CLIP or SigLIP tower and a linear or mlp2x_gelu projector.',
  );
}

/** LlamaConfig / Qwen2Config defaults for what hub configs leave out (llava-hf's 7B text_config omits sizes). */
function textConfig(t: Json, where: string): TextConfig {
  const modelType = str(t.model_type) ?? 'llama';
  if (modelType !== 'llama' && modelType !== 'qwen2')
    throw unsupported(`The text model in ${where} is "${modelType}".`);
  if (t.rope_scaling !== undefined && t.rope_scaling !== null)
    throw unsupported(`The text model in ${where} uses rope_scaling ${JSON.stringify(t.rope_scaling)}.`);
  if (t.attention_bias === true || t.mlp_bias === true)
    throw unsupported(`The text model in ${where} has attention or MLP biases.`);
  const act = str(t.hidden_act) ?? 'silu';
  if (act !== 'silu') throw unsupported(`The text model in ${where} uses hidden_act "${act}".`);
  const heads = num(t.num_attention_heads) ?? 32;
  const out: TextConfig = {
    model_type: modelType,
    vocab_size: num(t.vocab_size) ?? 32000,
    hidden_size: num(t.hidden_size) ?? 4096,
    intermediate_size: num(t.intermediate_size) ?? 11008,
    num_hidden_layers: num(t.num_hidden_layers) ?? 32,
    num_attention_heads: heads,
    num_key_value_heads: num(t.num_key_value_heads) ?? heads,
    max_position_embeddings: num(t.max_position_embeddings) ?? 2048,
    rms_norm_eps: num(t.rms_norm_eps) ?? 1e-6,
    rope_theta: num(t.rope_theta) ?? 10000,
    hidden_act: 'silu',
    tie_word_embeddings: t.tie_word_embeddings === true,
  };
  for (const key of ['bos_token_id', 'eos_token_id', 'pad_token_id', 'head_dim'] as const) {
    const v = t[key];
    if (typeof v === 'number' || (key === 'eos_token_id' && Array.isArray(v)))
      (out as unknown as Json)[key] = v;
  }
  return out;
}

/** CLIPVisionConfig / SiglipVisionConfig defaults. */
function visionConfig(v: Json, where: string): VisionConfig {
  const modelType = str(v.model_type) ?? 'clip_vision_model';
  if (modelType !== 'clip_vision_model' && modelType !== 'siglip_vision_model')
    throw unsupported(`The vision tower in ${where} is "${modelType}".`);
  const clip = modelType === 'clip_vision_model';
  const act = str(v.hidden_act) ?? (clip ? 'quick_gelu' : 'gelu_pytorch_tanh');
  if (!['quick_gelu', 'gelu', 'gelu_pytorch_tanh'].includes(act))
    throw unsupported(`The vision tower in ${where} uses hidden_act "${act}".`);
  const out: VisionConfig = {
    model_type: modelType,
    hidden_size: num(v.hidden_size) ?? 768,
    intermediate_size: num(v.intermediate_size) ?? 3072,
    num_hidden_layers: num(v.num_hidden_layers) ?? 12,
    num_attention_heads: num(v.num_attention_heads) ?? 12,
    image_size: num(v.image_size) ?? 224,
    patch_size: num(v.patch_size) ?? (clip ? 32 : 16),
    num_channels: num(v.num_channels) ?? 3,
    hidden_act: act as VisionConfig['hidden_act'],
    layer_norm_eps: num(v.layer_norm_eps) ?? (clip ? 1e-5 : 1e-6),
  };
  const projection = num(v.projection_dim);
  if (projection !== undefined) out.projection_dim = projection;
  return out;
}

function projectorType(value: unknown, where: string): 'linear' | 'mlp2x_gelu' {
  const p = value ?? 'linear';
  if (p !== 'linear' && p !== 'mlp2x_gelu')
    throw unsupported(`${where} asks for mm_projector_type ${JSON.stringify(p)}.`);
  return p;
}

function llavaHf(c: Json): SourceConfig {
  const arch = (Array.isArray(c.architectures) ? c.architectures : []).map(String);
  if (arch.length > 0 && !arch.includes('LlavaForConditionalGeneration'))
    throw unsupported(`config.json names the architecture ${arch.join(', ')}.`);
  if (c.model_type !== undefined && c.model_type !== 'llava')
    throw unsupported(`config.json has model_type "${String(c.model_type)}".`);
  const layer = c.vision_feature_layer ?? -2;
  if (typeof layer !== 'number')
    throw unsupported(`config.json selects vision_feature_layer ${JSON.stringify(layer)} (several layers).`);
  const act = str(c.projector_hidden_act) ?? 'gelu';
  if (act !== 'gelu') throw unsupported(`config.json uses projector_hidden_act "${act}".`);
  if (c.multimodal_projector_bias === false) throw unsupported('config.json has a projector without biases.');
  const strategy = str(c.vision_feature_select_strategy) ?? 'default';
  if (strategy !== 'default' && strategy !== 'full')
    throw unsupported(`config.json uses vision_feature_select_strategy "${strategy}".`);
  const imageToken = num(c.image_token_index) ?? num(c.image_token_id);
  const config: LlavaHfConfig = {
    model_type: 'llava',
    architectures: ['LlavaForConditionalGeneration'],
    image_token_index: imageToken ?? 32000,
    projector_hidden_act: 'gelu',
    mm_projector_type: projectorType(c.mm_projector_type ?? 'mlp2x_gelu', 'config.json'),
    vision_feature_layer: layer,
    vision_feature_select_strategy: strategy,
    vision_config: visionConfig(obj(c.vision_config), 'config.json vision_config'),
    text_config: textConfig(obj(c.text_config), 'config.json text_config'),
  };
  const pad = num(c.pad_token_id);
  if (pad !== undefined) config.pad_token_id = pad;
  const carry: Json = {};
  if (typeof c.image_aspect_ratio === 'string') carry.image_aspect_ratio = c.image_aspect_ratio;
  return { family: 'llava-hf', config, carry, imageTokenFixed: true };
}

function original(c: Json, clip: Json | null): SourceConfig {
  if (c.mm_use_im_start_end === true)
    throw unsupported(
      'config.json sets mm_use_im_start_end (image start/end tokens), which LLaVA-1.5 does not use.',
    );
  const layer = c.mm_vision_select_layer;
  if (typeof layer !== 'number') {
    throw new ConvertError(
      'bad-config',
      'config.json has no numeric mm_vision_select_layer (LLaVA-1.5 uses -2). ' +
        'Check that --input is the LLaVA checkpoint folder.',
    );
  }
  const feature = str(c.mm_vision_select_feature) ?? 'patch';
  if (feature !== 'patch' && feature !== 'cls_patch')
    throw unsupported(`config.json uses mm_vision_select_feature "${feature}".`);
  const known = KNOWN_VISION_TOWERS[str(c.mm_vision_tower) ?? ''];
  if (clip === null && known === undefined) {
    throw new ConvertError(
      'missing-file',
      `This original-LLaVA checkpoint keeps its vision tower (${String(c.mm_vision_tower ?? 'CLIP')}) ` +
        'in a separate checkpoint. Download it (config.json + model.safetensors) and pass its folder with --clip DIR.',
    );
  }
  const vision =
    clip === null
      ? { ...(known as VisionConfig) }
      : visionConfig(clip.model_type === 'clip' ? obj(clip.vision_config) : clip, '--clip config.json');
  if (num(c.mm_hidden_size) !== undefined && c.mm_hidden_size !== vision.hidden_size) {
    throw new ConvertError(
      'bad-config',
      `config.json expects a ${String(c.mm_hidden_size)}-wide vision tower but the --clip ` +
        `checkpoint is ${vision.hidden_size} wide. Pass the CLIP model named by mm_vision_tower (${String(c.mm_vision_tower)}).`,
    );
  }
  const config: LlavaHfConfig = {
    model_type: 'llava',
    architectures: ['LlavaForConditionalGeneration'],
    image_token_index: -1,
    projector_hidden_act: 'gelu',
    mm_projector_type: projectorType(c.mm_projector_type, 'config.json'),
    vision_feature_layer: layer,
    vision_feature_select_strategy: feature === 'patch' ? 'default' : 'full',
    vision_config: vision,
    text_config: textConfig({ ...c, model_type: 'llama' }, 'config.json'),
  };
  const pad = num(c.pad_token_id);
  if (pad !== undefined) config.pad_token_id = pad;
  const carry: Json = {};
  if (typeof c.image_aspect_ratio === 'string') carry.image_aspect_ratio = c.image_aspect_ratio;
  return { family: 'original', config, carry, imageTokenFixed: false };
}

const ORIGINAL_ARCHS = ['LlavaLlamaForCausalLM', 'LlavaLlamaModel'];

/**
 * Normalises a checkpoint config. `clip` is the parsed config.json of the separate CLIP checkpoint (original family
 * only; a CLIPModel config with `vision_config` or a CLIPVisionModel config).
 * @throws ConvertError 'unsupported-architecture' | 'bad-config' | 'missing-file'
 */
export function readSourceConfig(raw: unknown, clip: unknown = null): SourceConfig {
  const c = obj(raw);
  const arch = (Array.isArray(c.architectures) ? c.architectures : []).map(String);
  const modelType = str(c.model_type);
  if (arch.some((a) => ORIGINAL_ARCHS.includes(a))) return original(c, clip === null ? null : obj(clip));
  if (arch.includes('LlavaForConditionalGeneration')) return llavaHf(c);
  if (arch.length === 0 && modelType === 'llava' && c.text_config !== undefined) return llavaHf(c);
  if (
    arch.length === 0 &&
    (modelType === 'llava' || modelType === 'llava_llama') &&
    c.mm_vision_tower !== undefined
  )
    return original(c, clip === null ? null : obj(clip));
  throw unsupported(
    `config.json describes ${arch.length > 0 ? arch.join(', ') : `model_type "${String(c.model_type)}"`}, not a LLaVA model.`,
  );
}
