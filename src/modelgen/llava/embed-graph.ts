// Owns the `embed_tokens` graph (input_ids → inputs_embeds) of the transformers.js LLaVA layout. No files written here.
import { GraphBuilder, type InitializerHook } from '../onnx/graph-builder';
import type { GraphDtype } from './linear';
import { derivedInitializers, f32Bytes, getWeight, weightInit } from './nn';
import { quantizeU8 } from './quantize';
import type { LlavaHfConfig, WeightMap } from './types';

export interface EmbedGraphOptions {
  /** Sees each initializer as it is added (the converter's streaming writer). */
  onInitializer?: InitializerHook | undefined;
  /**
   * 'fp32' and 'q4': a float Gather (onnxruntime's 4-bit quantiser only rewrites MatMul, so real `_q4` exports keep
   * the table in float). 'q8': a per-tensor uint8 table, Gather then DequantizeLinear (the QDQ form of a quantised
   * Gather), a quarter of the size.
   */
  dtype?: GraphDtype;
}

/**
 * Builds `embed_tokens`: input_ids int64 [batch_size, sequence_length] → inputs_embeds float32
 * [batch_size, sequence_length, hidden]. Throws Error when `language_model.model.embed_tokens.weight` is missing.
 */
export function buildEmbedTokens(
  config: LlavaHfConfig,
  weights: WeightMap,
  options: EmbedGraphOptions = {},
): GraphBuilder {
  const g = new GraphBuilder('embed_tokens', { onInitializer: options.onInitializer });
  const name = 'language_model.model.embed_tokens.weight';
  const table = getWeight(weights, name);
  const D = config.text_config.hidden_size;
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const dims = ['batch_size', 'sequence_length', D];
  if (options.dtype === 'q8') {
    const [codes, scale, zero] = derivedInitializers(g, name, () => quantizeU8(table.data), [
      { name: `${name}_quantized`, dtype: 'uint8', dims: table.dims, bytes: (q) => q.codes },
      { name: `${name}_scale`, dtype: 'float32', dims: [], bytes: (q) => f32Bytes(q.scale) },
      { name: `${name}_zero_point`, dtype: 'uint8', dims: [], bytes: (q) => Uint8Array.of(q.zeroPoint) },
    ]) as [string, string, string];
    const rows = g.op('Gather', [codes, ids], { axis: 0 });
    g.node('DequantizeLinear', [rows, scale, zero], {}, { outputs: ['inputs_embeds'] });
  } else {
    g.node('Gather', [weightInit(g, weights, name), ids], { axis: 0 }, { outputs: ['inputs_embeds'] });
  }
  g.output('inputs_embeds', 'float32', dims);
  return g;
}
