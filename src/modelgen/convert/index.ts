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
export { convertFromSources, type CoreConvertOptions, type ConvertChoices } from './convert-core';
export { Checkpoint, pickleRecipe } from './checkpoint';
export { SafetensorsFile, parseSafetensorsHeader, type SafetensorsEntry } from './safetensors-reader';
export { nodeSourceFolder, nodeByteSource, openSafetensors, openCheckpoint } from './node-source';
export type { ByteSource, SourceFolder } from './byte-source';
export type { FileSink, SinkFile, ManifestEntry } from './file-sink';
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
export { parseByteSize } from './byte-size';
