// Owns the public surface of the LLaVA graph generator: re-exports only, no logic.
export type { F32Tensor, WeightMap, LlavaHfConfig, VisionConfig, TextConfig } from './types';
export { buildVisionEncoder, type VisionGraphOptions } from './vision-graph';
export { buildEmbedTokens, type EmbedGraphOptions } from './embed-graph';
export {
  buildDecoder,
  cacheNames,
  DECODER_HIDDEN_INPUT,
  DECODER_HIDDEN_OUTPUT,
  type DecoderGraphOptions,
} from './decoder-graph';
export { type GraphDtype, transposeF32 } from './linear';
export {
  quantizeQ4,
  dequantizeQ4,
  quantizeQ8Linear,
  dequantizeQ8Linear,
  quantizeU8,
  type Q4Weight,
  type Q8Weight,
} from './quantize';
export { createRandomWeights, fillNormal } from './random-weights';
export { getPreset, presets, PRESET_NAMES, type PresetName } from './presets';
export { listWeights, llavaDims, type LlavaDims, type WeightSpec, type WeightRole } from './weight-spec';
export { buildLlavaGraphs, buildComponent, type BuildLlavaOptions } from './build-all';
export {
  serializeModel,
  decodeModel,
  encodeModel,
  GraphBuilder,
  type OnnxFile,
  type SerializeOptions,
} from '../onnx/index';
