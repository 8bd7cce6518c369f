// Owns turning a GraphBuilder into ONNX file bytes: the .onnx protobuf and, when weights are external, the
// `<file>_data[_N]` files in transformers.js naming. It must not write to disk (callers do, in Node or a browser).
import {
  initializerBytes,
  type AttrValue,
  type ElemType,
  type GraphBuilder,
  type InitializerSpec,
  type ValueDecl,
} from './graph-builder';
import { externalDataPath } from '../../shared/model-layout';
import { encodeModel } from './codec';
import type { AttributeProto, ModelProto, TensorProto, ValueInfoProto } from './proto-types';
import { AttributeType, DataLocation, TensorDataType } from './proto-types';

/** A file produced by {@link serializeModel}; `path` is a bare file name, relative to the model's folder. */
export interface OnnxFile {
  path: string;
  bytes: Uint8Array;
}

export interface SerializeOptions {
  /** 'auto' (default): external when weights exceed `autoExternalAboveBytes`; 'always'; 'never'. */
  externalData?: 'auto' | 'always' | 'never';
  /** Largest external data file; default 1 GB (browsers and WASM32 offsets need files well under 4 GiB). */
  maxExternalFileBytes?: number;
  /** Weight total above which 'auto' goes external; default 1.5 GB. */
  autoExternalAboveBytes?: number;
  /** Initializers smaller than this stay inside the protobuf; default 1024 bytes (onnx's own default). */
  minExternalTensorBytes?: number;
  /** Offset alignment of tensors inside data files, a multiple of 4; default 64 bytes. */
  alignment?: number;
  /** ModelProto.producer_name; default 'llava-browser-modelgen'. */
  producerName?: string;
}

const GB = 1_000_000_000;

const DTYPE_CODE: Record<ElemType, number> = {
  float32: TensorDataType.FLOAT,
  float16: TensorDataType.FLOAT16,
  int64: TensorDataType.INT64,
  int32: TensorDataType.INT32,
  uint8: TensorDataType.UINT8,
  int8: TensorDataType.INT8,
  bool: TensorDataType.BOOL,
};

/** The onnx.TensorProto.DataType code of an element type. */
export function dataTypeCode(dtype: ElemType): number {
  return DTYPE_CODE[dtype];
}

interface Placement {
  file: number;
  offset: number;
}

/**
 * Serialises a graph as `fileName` (e.g. 'decoder_model_merged.onnx') plus, when external, `fileName + '_data'`,
 * `fileName + '_data_1'`, ... each at most `maxExternalFileBytes`. Returns the .onnx first, then the data files.
 * Throws RangeError when one tensor alone exceeds `maxExternalFileBytes`, when an embedded protobuf would exceed
 * 2 GiB, or on an alignment that is not a multiple of 4.
 */
export function serializeModel(
  graph: GraphBuilder,
  fileName: string,
  options: SerializeOptions = {},
): OnnxFile[] {
  const mode = options.externalData ?? 'auto';
  const maxFile = options.maxExternalFileBytes ?? GB;
  const minTensor = options.minExternalTensorBytes ?? 1024;
  const align = options.alignment ?? 64;
  if (align <= 0 || align % 4 !== 0)
    throw new RangeError(`alignment ${align} must be a positive multiple of 4`);
  const external =
    mode === 'always' ||
    (mode === 'auto' && graph.weightBytes() > (options.autoExternalAboveBytes ?? 1.5 * GB));

  const placements = new Map<string, Placement>();
  const fileSizes: number[] = [];
  if (external) {
    for (const init of graph.initializers.values()) {
      const size = init.byteLength;
      if (size < minTensor) continue;
      if (size > maxFile) {
        throw new RangeError(`tensor ${init.name} (${size} bytes) exceeds maxExternalFileBytes ${maxFile}`);
      }
      let file = fileSizes.length - 1;
      let offset = file >= 0 ? alignUp(fileSizes[file] ?? 0, align) : 0;
      if (file < 0 || offset + size > maxFile) {
        file = fileSizes.length;
        fileSizes.push(0);
        offset = 0;
      }
      placements.set(init.name, { file, offset });
      fileSizes[file] = offset + size;
    }
  }

  const dataName = (i: number): string => externalDataPath(fileName, i);
  const model = toModelProto(
    graph,
    (init) => {
      const at = placements.get(init.name);
      if (at === undefined) return undefined;
      return { location: dataName(at.file), offset: at.offset, length: init.byteLength };
    },
    options.producerName ?? 'llava-browser-modelgen',
  );

  const files: OnnxFile[] = [{ path: fileName, bytes: encodeModel(model) }];
  const buffers = fileSizes.map((size) => new Uint8Array(size));
  for (const init of graph.initializers.values()) {
    const at = placements.get(init.name);
    const file = at === undefined ? undefined : buffers[at.file];
    if (at === undefined || file === undefined) continue;
    if (init.bytes !== undefined) file.set(init.bytes, at.offset);
    else init.fill?.(file.subarray(at.offset, at.offset + init.byteLength));
  }
  buffers.forEach((bytes, i) => files.push({ path: dataName(i), bytes }));
  return files;
}

interface ExternalRef {
  location: string;
  offset: number;
  length: number;
}

/** Builds the ModelProto object of a graph; `externalOf` says where an initializer lives outside the protobuf. */
export function toModelProto(
  graph: GraphBuilder,
  externalOf: (init: InitializerSpec) => ExternalRef | undefined = () => undefined,
  producerName = 'llava-browser-modelgen',
): ModelProto {
  const initializer: TensorProto[] = [];
  for (const init of graph.initializers.values()) {
    const ref = externalOf(init);
    const base: TensorProto = { name: init.name, dims: [...init.dims], dataType: DTYPE_CODE[init.dtype] };
    if (ref === undefined) {
      initializer.push({ ...base, rawData: initializerBytes(init) });
    } else {
      initializer.push({
        ...base,
        dataLocation: DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: ref.location },
          { key: 'offset', value: String(ref.offset) },
          { key: 'length', value: String(ref.length) },
        ],
      });
    }
  }
  return {
    irVersion: 8,
    producerName,
    opsetImport: [...graph.opsets].map(([domain, version]) => ({ domain, version })),
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        input: n.inputs,
        output: n.outputs,
        name: n.name,
        opType: n.opType,
        domain: n.domain,
        attribute: Object.entries(n.attrs).map(([name, value]) => attributeProto(name, value)),
      })),
      initializer,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  };
}

function valueInfo(decl: ValueDecl): ValueInfoProto {
  return {
    name: decl.name,
    type: {
      tensorType: {
        elemType: DTYPE_CODE[decl.dtype],
        shape: { dim: decl.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

const utf8 = new TextEncoder();

function attributeProto(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'number') {
    if (!Number.isInteger(value))
      throw new TypeError(`attribute ${name}: use attrFloat() for float ${value}`);
    return { name, type: AttributeType.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: utf8.encode(value) };
  if (isReadonlyArray(value)) {
    if (value.length > 0 && value.every((v): v is string => typeof v === 'string')) {
      return { name, type: AttributeType.STRINGS, strings: value.map((v) => utf8.encode(v)) };
    }
    const ints = value as readonly number[];
    if (!ints.every((v) => Number.isInteger(v)))
      throw new TypeError(`attribute ${name}: use attrFloats() for floats`);
    return { name, type: AttributeType.INTS, ints: [...ints] };
  }
  switch (value.kind) {
    case 'float':
      return { name, type: AttributeType.FLOAT, f: value.value };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: [...value.value] };
    case 'tensor': {
      const t = value.value;
      const rawData = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      return {
        name,
        type: AttributeType.TENSOR,
        t: { name: '', dims: [...t.dims], dataType: DTYPE_CODE[t.dtype], rawData },
      };
    }
  }
}

function isReadonlyArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}
