// Owns the schema of the subset of onnx.proto this project reads and writes (field numbers are onnx.proto's), as
// plain data, and the protobufjs reflection built from it for decoding. It must not encode or decode anything
// itself: proto-writer.ts encodes (without eval, so it runs under the app's CSP), codec.ts decodes.
import protobuf from 'protobufjs';

/** One field: its name as the TypeScript side spells it, its protobuf type, its number, and whether it repeats. */
export type FieldSpec = readonly [name: string, type: string, id: number, repeated?: 'repeated'];

function message(fields: readonly FieldSpec[]): {
  fields: Record<string, { type: string; id: number; rule?: string }>;
} {
  const out: Record<string, { type: string; id: number; rule?: string }> = {};
  for (const [name, type, id, repeated] of fields) {
    out[name] = repeated ? { type, id, rule: 'repeated' } : { type, id };
  }
  return { fields: out };
}

// Enum-typed fields (data_type, AttributeProto.type, data_location) are declared int32: same wire encoding, and the
// plain numbers are what the TypeScript side works with. Nested messages are keyed by their short names, which are
// unique in this subset (Dimension is TensorShapeProto.Dimension, Tensor is TypeProto.Tensor).
export const ONNX_MESSAGES: Readonly<Record<string, readonly FieldSpec[]>> = {
  StringStringEntryProto: [
    ['key', 'string', 1],
    ['value', 'string', 2],
  ],
  OperatorSetIdProto: [
    ['domain', 'string', 1],
    ['version', 'int64', 2],
  ],
  TensorProto: [
    ['dims', 'int64', 1, 'repeated'],
    ['dataType', 'int32', 2],
    ['floatData', 'float', 4, 'repeated'],
    ['int32Data', 'int32', 5, 'repeated'],
    ['stringData', 'bytes', 6, 'repeated'],
    ['int64Data', 'int64', 7, 'repeated'],
    ['name', 'string', 8],
    ['rawData', 'bytes', 9],
    ['doubleData', 'double', 10, 'repeated'],
    ['uint64Data', 'uint64', 11, 'repeated'],
    ['docString', 'string', 12],
    ['externalData', 'StringStringEntryProto', 13, 'repeated'],
    ['dataLocation', 'int32', 14],
  ],
  TensorShapeProto: [['dim', 'Dimension', 1, 'repeated']],
  Dimension: [
    ['dimValue', 'int64', 1],
    ['dimParam', 'string', 2],
    ['denotation', 'string', 3],
  ],
  TypeProto: [
    ['tensorType', 'Tensor', 1],
    ['denotation', 'string', 6],
  ],
  Tensor: [
    ['elemType', 'int32', 1],
    ['shape', 'TensorShapeProto', 2],
  ],
  ValueInfoProto: [
    ['name', 'string', 1],
    ['type', 'TypeProto', 2],
    ['docString', 'string', 3],
  ],
  AttributeProto: [
    ['name', 'string', 1],
    ['f', 'float', 2],
    ['i', 'int64', 3],
    ['s', 'bytes', 4],
    ['t', 'TensorProto', 5],
    ['g', 'GraphProto', 6],
    ['floats', 'float', 7, 'repeated'],
    ['ints', 'int64', 8, 'repeated'],
    ['strings', 'bytes', 9, 'repeated'],
    ['tensors', 'TensorProto', 10, 'repeated'],
    ['graphs', 'GraphProto', 11, 'repeated'],
    ['docString', 'string', 13],
    ['type', 'int32', 20],
    ['refAttrName', 'string', 21],
  ],
  NodeProto: [
    ['input', 'string', 1, 'repeated'],
    ['output', 'string', 2, 'repeated'],
    ['name', 'string', 3],
    ['opType', 'string', 4],
    ['attribute', 'AttributeProto', 5, 'repeated'],
    ['docString', 'string', 6],
    ['domain', 'string', 7],
  ],
  GraphProto: [
    ['node', 'NodeProto', 1, 'repeated'],
    ['name', 'string', 2],
    ['initializer', 'TensorProto', 5, 'repeated'],
    ['docString', 'string', 10],
    ['input', 'ValueInfoProto', 11, 'repeated'],
    ['output', 'ValueInfoProto', 12, 'repeated'],
    ['valueInfo', 'ValueInfoProto', 13, 'repeated'],
  ],
  ModelProto: [
    ['irVersion', 'int64', 1],
    ['producerName', 'string', 2],
    ['producerVersion', 'string', 3],
    ['domain', 'string', 4],
    ['modelVersion', 'int64', 5],
    ['docString', 'string', 6],
    ['graph', 'GraphProto', 7],
    ['opsetImport', 'OperatorSetIdProto', 8, 'repeated'],
    ['metadataProps', 'StringStringEntryProto', 14, 'repeated'],
  ],
};

function fieldsOf(name: string): readonly FieldSpec[] {
  const fields = ONNX_MESSAGES[name];
  if (!fields) throw new Error(`onnx schema: no message ${name}`);
  return fields;
}

const onnxNamespace = {
  nested: {
    StringStringEntryProto: message(fieldsOf('StringStringEntryProto')),
    OperatorSetIdProto: message(fieldsOf('OperatorSetIdProto')),
    TensorProto: message(fieldsOf('TensorProto')),
    TensorShapeProto: {
      ...message(fieldsOf('TensorShapeProto')),
      nested: { Dimension: message(fieldsOf('Dimension')) },
    },
    TypeProto: { ...message(fieldsOf('TypeProto')), nested: { Tensor: message(fieldsOf('Tensor')) } },
    ValueInfoProto: message(fieldsOf('ValueInfoProto')),
    AttributeProto: message(fieldsOf('AttributeProto')),
    NodeProto: message(fieldsOf('NodeProto')),
    GraphProto: message(fieldsOf('GraphProto')),
    ModelProto: message(fieldsOf('ModelProto')),
  },
};

let root: protobuf.Root | undefined;

/**
 * A reflected onnx message type, e.g. 'ModelProto' (the schema is built once, lazily). protobufjs generates its
 * coders with `Function`, which a strict CSP refuses: use it for decoding in Node (tests, tools), never to encode.
 */
export function onnxType(name: 'ModelProto' | 'GraphProto' | 'TensorProto'): protobuf.Type {
  root ??= protobuf.Root.fromJSON({ nested: { onnx: onnxNamespace } });
  return root.lookupType(`onnx.${name}`);
}

/** Field numbers the codec writes by hand (onnx.proto). */
export const FIELD = { modelGraph: 7, graphInitializer: 5, tensorRawData: 9 } as const;
