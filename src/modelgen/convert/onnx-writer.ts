// Owns writing one graph to the output folder as `<name>.onnx` plus external data files of at most a given size,
// streaming each initializer to disk (no second in-memory copy of the weights, unlike serializeModel) and hashing
// on the way. Also the optional fp16 weight storage. It knows no model structure.
import { externalDataPath } from '../../shared/model-layout';
import { initializerBytes, type GraphBuilder, type InitializerSpec } from '../onnx/graph-builder';
import { encodeModel } from '../onnx/codec';
import { toModelProto } from '../onnx/serialize';
import { TensorDataType } from '../onnx/proto-types';
import { float32ToHalf } from '../../shared/float16';
import type { FileSink, SinkFile } from './file-sink';

export interface WriteGraphOptions {
  /** Largest external data file (default 1e9 bytes: browsers and WASM32 offsets need files well under 4 GiB). */
  maxDataFileBytes?: number;
  /** Initializers below this stay inside the protobuf (default 1024). */
  minExternalBytes?: number;
  /** Offset alignment inside data files (default 64). */
  alignment?: number;
}

export interface WrittenGraph {
  /** The .onnx file, relative to the folder. */
  file: string;
  /** External data files, in order. */
  data: string[];
  /** Bytes of all initializers (the graph's weights). */
  weightBytes: number;
}

/**
 * Writes `graph` as `relPath` (e.g. 'onnx/decoder_shard_1_of_3_q4.onnx') with every initializer of at least
 * `minExternalBytes` in `relPath + '_data'`, `_data_1`, … (transformers.js names).
 * Throws RangeError when one tensor alone exceeds `maxDataFileBytes`.
 */
export function writeGraph(
  folder: FileSink,
  relPath: string,
  graph: GraphBuilder,
  options: WriteGraphOptions = {},
): WrittenGraph {
  const maxFile = options.maxDataFileBytes ?? 1e9;
  const minBytes = options.minExternalBytes ?? 1024;
  const align = options.alignment ?? 64;
  const base = relPath.slice(relPath.lastIndexOf('/') + 1);
  const dataName = (i: number): string => externalDataPath(base, i);
  const dir = relPath.slice(0, relPath.lastIndexOf('/') + 1);

  const placed = new Map<string, { location: string; offset: number; length: number }>();
  const data: string[] = [];
  let current: SinkFile | null = null;
  let weightBytes = 0;
  for (const init of graph.initializers.values()) {
    const size = init.byteLength;
    weightBytes += size;
    if (size < minBytes) continue;
    if (size > maxFile)
      throw new RangeError(`tensor ${init.name} (${size} bytes) exceeds the data file limit ${maxFile}`);
    if (current !== null) {
      current.pad(align);
      if (current.written + size > maxFile) {
        current.close();
        current = null;
      }
    }
    if (current === null) {
      current = folder.open(`${dir}${dataName(data.length)}`);
      data.push(current.relPath);
    }
    placed.set(init.name, { location: dataName(data.length - 1), offset: current.written, length: size });
    // A deferred initializer computes its bytes here, and they are dropped once written.
    current.write(initializerBytes(init));
  }
  if (current !== null) current.close();
  const model = toModelProto(
    graph,
    (init: InitializerSpec) => placed.get(init.name),
    'llava-browser-convert',
  );
  folder.writeFile(relPath, encodeModel(model));
  return { file: relPath, data, weightBytes };
}

/**
 * Stores every float32 checkpoint weight (`isWeight(name)`: not computed tables such as RoPE caches) of rank ≥ 2 and
 * at least `minBytes` as float16, followed by a Cast back to float32, so the file is half the size while
 * activations, inputs and outputs stay float32 (and run on adapters without shader-f16). onnxruntime folds the
 * Casts when it creates the session, so memory use there is as fp32. Returns the bytes saved.
 */
export function storeWeightsAsHalf(
  graph: GraphBuilder,
  isWeight: (name: string) => boolean,
  minBytes = 1024,
): number {
  let saved = 0;
  const casts: Array<[string, string]> = [];
  for (const [name, init] of [...graph.initializers]) {
    if (init.dtype !== 'float32' || init.dims.length < 2 || init.byteLength < minBytes || !isWeight(name))
      continue;
    const bytes = initializerBytes(init);
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const half = graph.fresh(`${name.replace(/^\//, '')}_fp16`);
    const halfBytes = new Uint8Array(float32ToHalf(values).buffer);
    graph.initializers.delete(name);
    graph.initializers.set(half, {
      name: half,
      dtype: 'float16',
      dims: init.dims,
      byteLength: halfBytes.byteLength,
      bytes: halfBytes,
    });
    casts.push([half, name]);
    saved += init.byteLength / 2;
  }
  // The old initializer name becomes the Cast's output; Casts go first so the node list stays topologically sorted.
  graph.nodes.unshift(
    ...casts.map(([from, to]) => ({
      opType: 'Cast',
      name: graph.fresh('Cast_fp16_node'),
      domain: '',
      inputs: [from],
      outputs: [to],
      attrs: { to: TensorDataType.FLOAT },
    })),
  );
  return saved;
}
