// Owns the `vision_encoder` graph (pixel_values → image_features, projector included) for CLIP and SigLIP towers,
// following HF's LLaVA numerics. No files written here.
import { GraphBuilder, type InitializerHook } from '../onnx/graph-builder';
import { linear, linearEmitter, type GraphDtype, type LinearEmitter } from './linear';
import { activation, layerNorm, mergeHeads, weightInit } from './nn';
import type { LlavaHfConfig, WeightMap } from './types';
import { llavaDims, type LlavaDims } from './weight-spec';

export interface VisionGraphOptions {
  /** Sees each initializer as it is added (the converter's streaming writer). */
  onInitializer?: InitializerHook | undefined;
  /** 'q4' / 'q8' quantise the encoder and projector Linears; the patch Conv and norms stay fp32. Default 'fp32'. */
  dtype?: GraphDtype;
}

const VM = 'vision_tower.vision_model';

/**
 * Builds `vision_encoder`: pixel_values float32 [batch_size, C, image_size, image_size] → image_features float32
 * [batch_size, num_features, text_hidden].
 *
 * As HF's LLaVA does: patch Conv (+ CLS token and pre_layrnorm for CLIP), pre-LN encoder layers up to the hidden state
 * picked by `vision_feature_layer` (hidden_states[k] is the output of k layers, so -2 runs L-1 layers; post_layernorm
 * is never applied — HF takes encoder hidden states, not last_hidden_state), CLS dropped for the 'default' strategy,
 * then the projector (linear_1, erf-GELU, linear_2; linear_1 only for mm_projector_type 'linear').
 * Throws Error on a missing weight or an unsupported activation.
 */
export function buildVisionEncoder(
  config: LlavaHfConfig,
  weights: WeightMap,
  options: VisionGraphOptions = {},
): GraphBuilder {
  const d = llavaDims(config);
  const g = new GraphBuilder('vision_encoder', { onInitializer: options.onInitializer });
  const e = linearEmitter(g, weights, options.dtype ?? 'fp32');
  const pixels = g.input('pixel_values', 'float32', ['batch_size', d.channels, d.imageSize, d.imageSize]);

  let x = g.scope('embeddings', () => embeddings(g, weights, d, pixels));
  if (d.hasClassToken)
    x = g.scope('pre_layrnorm', () =>
      layerNorm(g, weights, x, `${VM}.pre_layrnorm`, config.vision_config.layer_norm_eps),
    );
  for (let i = 0; i < d.visionLayersUsed; i++) {
    x = g.scope(`encoder.layers.${i}`, () => encoderLayer(e, config, d, x, `${VM}.encoder.layers.${i}`));
  }
  if (d.hasClassToken && config.vision_feature_select_strategy === 'default') {
    x = g.op('Slice', [x, g.constInt64([1]), g.constInt64([Number.MAX_SAFE_INTEGER]), g.constInt64([1])]);
  }
  const features = g.scope('multi_modal_projector', () => {
    const h = linear(e, x, 'multi_modal_projector.linear_1', { bias: true });
    if ((config.mm_projector_type ?? 'mlp2x_gelu') === 'linear') return h;
    const act = activation(g, config.projector_hidden_act, h);
    return linear(e, act, 'multi_modal_projector.linear_2', { bias: true });
  });
  g.output('image_features', 'float32', ['batch_size', d.numImageFeatures, d.textHidden], features);
  return g;
}

function embeddings(g: GraphBuilder, weights: WeightMap, d: LlavaDims, pixels: string): string {
  const p = `${VM}.embeddings`;
  const conv = [pixels, weightInit(g, weights, `${p}.patch_embedding.weight`)];
  if (!d.hasClassToken) conv.push(weightInit(g, weights, `${p}.patch_embedding.bias`));
  const patches = g.op('Conv', conv, { kernel_shape: [d.patch, d.patch], strides: [d.patch, d.patch] });
  // [B, Hv, g, g] → [B, N, Hv]
  const flat = g.op('Reshape', [patches, g.constInt64([0, d.visionHidden, -1])]);
  let x = g.op('Transpose', [flat], { perm: [0, 2, 1] });
  if (d.hasClassToken) {
    const clsInit = weightInit(g, weights, `${p}.class_embedding`, `${p}.class_embedding`, [
      1,
      1,
      d.visionHidden,
    ]);
    const batch = g.op('Shape', [pixels], { start: 0, end: 1 });
    const shape = g.op('Concat', [batch, g.constInt64([1, d.visionHidden])], { axis: 0 });
    x = g.op('Concat', [g.op('Expand', [clsInit, shape]), x], { axis: 1 });
  }
  return g.op('Add', [x, weightInit(g, weights, `${p}.position_embedding.weight`)]);
}

function encoderLayer(e: LinearEmitter, config: LlavaHfConfig, d: LlavaDims, x: string, p: string): string {
  const { g, weights } = e;
  const eps = config.vision_config.layer_norm_eps;
  const h = layerNorm(g, weights, x, `${p}.layer_norm1`, eps);
  const heads = d.visionHeads;
  const hd = d.visionHeadDim;
  const toHeads = (t: string, perm: number[]): string =>
    g.op('Transpose', [g.op('Reshape', [t, g.constInt64([0, 0, heads, hd])])], { perm });
  const q = toHeads(linear(e, h, `${p}.self_attn.q_proj`, { bias: true }), [0, 2, 1, 3]);
  const kT = toHeads(linear(e, h, `${p}.self_attn.k_proj`, { bias: true }), [0, 2, 3, 1]);
  const v = toHeads(linear(e, h, `${p}.self_attn.v_proj`, { bias: true }), [0, 2, 1, 3]);
  const scores = g.op('MatMul', [g.op('Mul', [q, g.constFloat([1 / Math.sqrt(hd)], [])]), kT]);
  const ctx = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
  const attn = linear(e, mergeHeads(g, ctx, heads, hd), `${p}.self_attn.out_proj`, { bias: true });
  const x1 = g.op('Add', [x, attn]);
  const h2 = layerNorm(g, weights, x1, `${p}.layer_norm2`, eps);
  const act = activation(g, config.vision_config.hidden_act, linear(e, h2, `${p}.mlp.fc1`, { bias: true }));
  return g.op('Add', [x1, linear(e, act, `${p}.mlp.fc2`, { bias: true })]);
}
