// Owns the protobuf reflection schema for the subset of onnx.proto this project reads and writes (field numbers
// are onnx.proto's). It must not encode or decode anything itself; codec.ts does that.
import protobuf from 'protobufjs';

type FieldSpec = [name: string, type: string, id: number, repeated?: 'repeated'];

function message(fields: FieldSpec[]): {
  fields: Record<string, { type: string; id: number; rule?: string }>;
} {
  const out: Record<string, { type: string; id: number; rule?: string }> = {};
  for (const [name, type, id, repeated] of fields) {
    out[name] = repeated ? { type, id, rule: 'repeated' } : { type, id };
  }
  return { fields: out };
}

// Enum-typed fields (data_type, AttributeProto.type, data_location) are declared int32: same wire encoding, and the
// plain numbers are what the TypeScript side works with.
const onnxNamespace = {
  nested: {
    StringStringEntryProto: message([
      ['key', 'string', 1],
      ['value', 'string', 2],
    ]),
    OperatorSetIdProto: message([
      ['domain', 'string', 1],
      ['version', 'int64', 2],
    ]),
    TensorProto: message([
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
    ]),
    TensorShapeProto: {
      ...message([['dim', 'Dimension', 1, 'repeated']]),
      nested: {
        Dimension: message([
          ['dimValue', 'int64', 1],
          ['dimParam', 'string', 2],
          ['denotation', 'string', 3],
        ]),
      },
    },
    TypeProto: {
      ...message([
        ['tensorType', 'Tensor', 1],
        ['denotation', 'string', 6],
      ]),
      nested: {
        Tensor: message([
          ['elemType', 'int32', 1],
          ['shape', 'TensorShapeProto', 2],
        ]),
      },
    },
    ValueInfoProto: message([
      ['name', 'string', 1],
      ['type', 'TypeProto', 2],
      ['docString', 'string', 3],
    ]),
    AttributeProto: message([
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
    ]),
    NodeProto: message([
      ['input', 'string', 1, 'repeated'],
      ['output', 'string', 2, 'repeated'],
      ['name', 'string', 3],
      ['opType', 'string', 4],
      ['attribute', 'AttributeProto', 5, 'repeated'],
      ['docString', 'string', 6],
      ['domain', 'string', 7],
    ]),
    GraphProto: message([
      ['node', 'NodeProto', 1, 'repeated'],
      ['name', 'string', 2],
      ['initializer', 'TensorProto', 5, 'repeated'],
      ['docString', 'string', 10],
      ['input', 'ValueInfoProto', 11, 'repeated'],
      ['output', 'ValueInfoProto', 12, 'repeated'],
      ['valueInfo', 'ValueInfoProto', 13, 'repeated'],
    ]),
    ModelProto: message([
      ['irVersion', 'int64', 1],
      ['producerName', 'string', 2],
      ['producerVersion', 'string', 3],
      ['domain', 'string', 4],
      ['modelVersion', 'int64', 5],
      ['docString', 'string', 6],
      ['graph', 'GraphProto', 7],
      ['opsetImport', 'OperatorSetIdProto', 8, 'repeated'],
      ['metadataProps', 'StringStringEntryProto', 14, 'repeated'],
    ]),
  },
};

let root: protobuf.Root | undefined;

/** A reflected onnx message type, e.g. 'ModelProto' or 'TensorProto' (the schema is built once, lazily). */
export function onnxType(name: 'ModelProto' | 'GraphProto' | 'TensorProto'): protobuf.Type {
  root ??= protobuf.Root.fromJSON({ nested: { onnx: onnxNamespace } });
  return root.lookupType(`onnx.${name}`);
}

/** Field numbers the codec writes by hand (onnx.proto). */
export const FIELD = { modelGraph: 7, graphInitializer: 5, tensorRawData: 9 } as const;
