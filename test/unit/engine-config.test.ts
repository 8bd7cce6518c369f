// model-config: hub JSON (llava-hf CLIP/LLaMA and SigLIP/Qwen shapes) becomes one camelCase ModelConfig.
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../src/engine/model-config';
import { LLAVA_INTERLEAVE } from '../fixtures/replicas/published';

// Shapes of llava-hf/llava-1.5-7b-hf's files (abridged to the keys the engine reads).
const llava15 = {
  config: {
    model_type: 'llava',
    image_token_index: 32000,
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
    vision_config: { model_type: 'clip_vision_model', image_size: 336, patch_size: 14, hidden_size: 1024 },
    text_config: {
      model_type: 'llama',
      vocab_size: 32064,
      hidden_size: 4096,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      max_position_embeddings: 4096,
    },
  },
  generationConfig: { bos_token_id: 1, eos_token_id: 2, pad_token_id: 32001 },
  preprocessorConfig: {
    crop_size: { height: 336, width: 336 },
    do_center_crop: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_processor_type: 'CLIPImageProcessor',
    image_std: [0.26862954, 0.26130258, 0.27577711],
    resample: 3,
    rescale_factor: 0.00392156862745098,
    size: { shortest_edge: 336 },
  },
  processorConfig: { image_token: '<image>', num_additional_image_tokens: 1, patch_size: 14 },
};

// llava-hf/llava-interleave-qwen-0.5b-hf as published (config.json and generation_config.json verbatim; sources
// cited in test/fixtures/replicas/published.ts). Qwen1.5-0.5B: 16 heads and 16 KV heads of 64, hidden 1024, one EOS
// id, no transformers.js_config.
const interleaveQwen = {
  config: LLAVA_INTERLEAVE.config,
  generationConfig: LLAVA_INTERLEAVE.generationConfig,
  preprocessorConfig: LLAVA_INTERLEAVE.preprocessorConfig,
};

// A SigLIP + Qwen2 folder with the keys interleave's files lack: an EOS list and transformers.js_config (as
// transformers.js exports write them), GQA with 2 KV heads of 64 (Qwen2-0.5B's shape).
const qwen2WithTjsConfig = {
  ...interleaveQwen,
  config: {
    ...interleaveQwen.config,
    text_config: {
      ...(interleaveQwen.config.text_config as Record<string, unknown>),
      hidden_size: 896,
      num_attention_heads: 14,
      num_key_value_heads: 2,
    },
    'transformers.js_config': {
      dtype: { vision_encoder: 'fp16', decoder_model_merged: 'q4' },
      use_external_data_format: { 'decoder_model_merged.onnx': 2 },
    },
  },
  generationConfig: { eos_token_id: [151645, 151643] },
};

describe('model config', () => {
  it('reads a LLaVA-1.5 (CLIP + LLaMA) folder', () => {
    const c = parseModelConfig(llava15);
    expect(c.imageTokenId).toBe(32000);
    expect(c.imageToken).toBe('<image>');
    expect(c.text).toEqual({
      modelType: 'llama',
      vocabSize: 32064,
      hiddenSize: 4096,
      numLayers: 32,
      numAttentionHeads: 32,
      numKeyValueHeads: 32,
      headDim: 128,
      contextLength: 4096,
    });
    expect(c.eosTokenIds).toEqual([2]);
    expect(c.bosTokenId).toBe(1);
    // 24×24 patches, CLS dropped by the "default" strategy.
    expect(c.estimatedImageFeatures).toBe(576);
    expect(c.image).toMatchObject({
      mode: 'plain',
      size: { shortestEdge: 336 },
      cropSize: { height: 336, width: 336 },
      doCenterCrop: true,
      resample: 3,
      imageMean: [0.48145466, 0.4578275, 0.40821073],
    });
    expect(c.preferredDtype).toBeNull();
  });

  it("reads llava-interleave-qwen-0.5b's published config: SigLIP 384 px, Qwen1.5 MHA, one EOS", () => {
    const c = parseModelConfig(interleaveQwen);
    expect(c.imageTokenId).toBe(151646);
    expect(c.text).toEqual({
      modelType: 'qwen2',
      vocabSize: 152000,
      hiddenSize: 1024,
      numLayers: 24,
      numAttentionHeads: 16,
      numKeyValueHeads: 16,
      headDim: 64,
      contextLength: 32768,
    });
    expect(c.eosTokenIds).toEqual([151645]);
    expect(c.bosTokenId).toBe(151643);
    // 27×27 patches, all kept by the "full" strategy (SigLIP has no CLS).
    expect(c.estimatedImageFeatures).toBe(729);
    expect(c.image).toMatchObject({ mode: 'plain', size: { height: 384, width: 384 }, doCenterCrop: false });
    expect(c.image.imageStd).toEqual([0.5, 0.5, 0.5]);
    expect(c.preferredDtype).toBeNull();
    expect(c.externalDataChunks).toBeNull();
  });

  it('reads an EOS list, GQA and transformers.js_config where a folder has them', () => {
    const c = parseModelConfig(qwen2WithTjsConfig);
    expect(c.eosTokenIds).toEqual([151645, 151643]);
    expect(c.text.numKeyValueHeads).toBe(2);
    expect(c.text.headDim).toBe(64);
    expect(c.preferredDtype).toEqual({ vision_encoder: 'fp16', decoder_model_merged: 'q4' });
    expect(c.externalDataChunks).toEqual({ 'decoder_model_merged.onnx': 2 });
  });

  it('falls back to text_config EOS and rejects configs the engine cannot use', () => {
    const c = parseModelConfig({ config: qwen2WithTjsConfig.config });
    expect(c.eosTokenIds).toEqual([151645]);
    expect(() => parseModelConfig({ config: { model_type: 'llama' } })).toThrowError(
      expect.objectContaining({ code: 'bad-model' }),
    );
    expect(() =>
      parseModelConfig({ config: { ...llava15.config, image_token_index: undefined } }),
    ).toThrowError(expect.objectContaining({ code: 'bad-model' }));
  });
});
