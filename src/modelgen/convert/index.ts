// Owns the public surface of the checkpoint converter: re-exports only, no logic.
export {
  convertCheckpoint,
  CONVERTER_VERSION,
  DEFAULT_SHARD_BYTES,
  type ConvertOptions,
  type ConvertProgress,
  type ConvertResult,
} from './convert';
export { ConvertError, isConvertError, type ConvertErrorCode } from './errors';
export { Checkpoint, pickleRecipe } from './checkpoint';
export { SafetensorsFile, parseSafetensorsHeader, type SafetensorsEntry } from './safetensors-reader';
export { writeSafetensors, writeTensorsSafetensors, type SafetensorsWriteDtype } from './safetensors-writer';
export { detectNaming, sourceName, type CheckpointNaming } from './naming';
export { readSourceConfig, type SourceConfig } from './source-config';
export {
  planShards,
  decoderLayerBytes,
  decoderHeadBytes,
  linearBytes,
  type ConvertDtype,
  type ShardPlanEntry,
} from './shard-plan';
export { parseByteSize, formatBytes } from './byte-size';
