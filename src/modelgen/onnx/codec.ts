// Owns turning ModelProto plain objects into protobuf bytes and back. It knows nothing about graphs or weights.
import type { ModelProto, TensorProto } from './proto-types';
import { FIELD, onnxType } from './onnx-schema';
import { encodeOnnxMessage } from './proto-writer';

const WIRE_LEN = 2;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** A length-delimited field's header: tag byte(s) and length. */
function header(field: number, length: number): Uint8Array {
  return Uint8Array.from([...varint(field * 8 + WIRE_LEN), ...varint(length)]);
}

type Piece = Uint8Array;

function total(pieces: readonly Piece[]): number {
  let n = 0;
  for (const p of pieces) n += p.byteLength;
  return n;
}

/**
 * Serialises a ModelProto to protobuf bytes. Tensor raw_data is spliced in by hand (one copy into the final buffer)
 * because protobufjs copies large byte fields slowly; everything else goes through the eval-free schema writer.
 * Throws RangeError past protobuf's 2 GiB message limit.
 */
export function encodeModel(model: ModelProto): Uint8Array {
  const { graph, ...rest } = model;
  const { initializer, ...graphRest } = graph;
  const graphPieces: Piece[] = [encodeOnnxMessage('GraphProto', { ...graphRest, initializer: [] })];
  for (const tensor of initializer) {
    const { rawData, ...meta } = tensor as TensorProto;
    const head = encodeOnnxMessage('TensorProto', meta);
    const tensorPieces: Piece[] =
      rawData === undefined ? [head] : [head, header(FIELD.tensorRawData, rawData.byteLength), rawData];
    graphPieces.push(header(FIELD.graphInitializer, total(tensorPieces)), ...tensorPieces);
  }
  const modelHead = encodeOnnxMessage('ModelProto', rest);
  const pieces: Piece[] = [modelHead, header(FIELD.modelGraph, total(graphPieces)), ...graphPieces];
  const size = total(pieces);
  if (size > 2 ** 31 - 1)
    throw new RangeError(`ONNX protobuf of ${size} bytes exceeds 2 GiB; use external data`);
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Parses ONNX protobuf bytes into a plain ModelProto (int64 fields become numbers, repeated fields are always arrays,
 * bytes fields stay Uint8Array views, absent domains read as ''). Used by tests and tools to inspect graphs.
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const type = onnxType('ModelProto');
  const message = type.decode(bytes);
  const model = type.toObject(message, { longs: Number, arrays: true, defaults: false }) as ModelProto;
  // Empty strings are protobuf defaults and may be absent on the wire; '' is the ai.onnx domain.
  for (const opset of model.opsetImport) opset.domain ??= '';
  for (const node of model.graph.node) node.domain ??= '';
  return model;
}
