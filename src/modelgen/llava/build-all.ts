// Owns assembling the three transformers.js LLaVA components, per dtype, into ONNX files under `onnx/`. It does not
// write to disk and knows nothing of tokenizers or config files (the model-folder writer does).
import { COMPONENTS, onnxPath, type Component } from '../../shared/model-layout';
import type { GraphBuilder } from '../onnx/graph-builder';
import { serializeModel, type OnnxFile, type SerializeOptions } from '../onnx/serialize';
import { buildDecoder } from './decoder-graph';
import { buildEmbedTokens } from './embed-graph';
import type { GraphDtype } from './linear';
import type { LlavaHfConfig, WeightMap } from './types';
import { buildVisionEncoder } from './vision-graph';

/** Builds one component's graph in one dtype. */
export function buildComponent(
  config: LlavaHfConfig,
  weights: WeightMap,
  component: Component,
  dtype: GraphDtype,
): GraphBuilder {
  switch (component) {
    case 'vision_encoder':
      return buildVisionEncoder(config, weights, { dtype });
    case 'embed_tokens':
      return buildEmbedTokens(config, weights, { dtype });
    case 'decoder_model_merged':
      return buildDecoder(config, weights, { dtype });
  }
}

export interface BuildLlavaOptions {
  /** Dtypes to emit; default ['fp32']. */
  dtypes?: readonly GraphDtype[];
  /** Components to emit; default all three. */
  components?: readonly Component[];
  /** Passed to serializeModel (external data policy, file size cap). */
  serialize?: SerializeOptions;
}

/**
 * Yields the ONNX files of a LLaVA model, one component and dtype at a time (so a caller can write each batch and
 * drop it before the next is built): `onnx/<component><suffix>.onnx` and its `.onnx_data[_N]` files.
 */
export function* buildLlavaGraphs(
  config: LlavaHfConfig,
  weights: WeightMap,
  options: BuildLlavaOptions = {},
): Generator<OnnxFile[], void, undefined> {
  for (const dtype of options.dtypes ?? ['fp32']) {
    for (const component of options.components ?? COMPONENTS) {
      const graph = buildComponent(config, weights, component, dtype);
      const file = onnxPath(component, dtype);
      const files = serializeModel(graph, file.slice('onnx/'.length), options.serialize);
      yield files.map((f) => ({ path: `onnx/${f.path}`, bytes: f.bytes }));
    }
  }
}
