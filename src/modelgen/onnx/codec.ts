// Owns turning ModelProto plain objects into protobuf bytes and back. It knows nothing about graphs or weights.
import type { ModelProto } from './proto-types';
import { modelProtoType } from './onnx-schema';

/** Serialises a ModelProto to protobuf bytes. Throws RangeError past protobuf's 2 GiB message limit. */
export function encodeModel(model: ModelProto): Uint8Array {
  const bytes = modelProtoType().encode(model).finish();
  if (bytes.byteLength > 2 ** 31 - 1) {
    throw new RangeError(`ONNX protobuf of ${bytes.byteLength} bytes exceeds 2 GiB; use external data`);
  }
  return bytes;
}

/**
 * Parses ONNX protobuf bytes into a plain ModelProto (int64 fields become numbers, repeated fields are always arrays,
 * bytes fields stay Uint8Array views, absent domains read as ''). Used by tests and tools to inspect graphs.
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const type = modelProtoType();
  const message = type.decode(bytes);
  const model = type.toObject(message, { longs: Number, arrays: true, defaults: false }) as ModelProto;
  // Empty strings are protobuf defaults and may be absent on the wire; '' is the ai.onnx domain.
  for (const opset of model.opsetImport) opset.domain ??= '';
  for (const node of model.graph.node) node.domain ??= '';
  return model;
}
