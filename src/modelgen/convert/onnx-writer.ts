// Owns writing one graph while it is being built: each initializer's bytes go to the external data files the moment
// the builder adds it (fp16 storage applied on the way), so a graph never holds its weights and the converter's
// memory stays bounded by one tensor. It records where every initializer went, so an interrupted conversion can
// rebuild the graph without recomputing (or refetching) what is already written. It knows no model structure.
import { externalDataPath } from '../../shared/model-layout';
import {
  initializerBytes,
  type ElemType,
  type GraphBuilder,
  type InitializerHook,
  type InitializerSpec,
} from '../onnx/graph-builder';
import { encodeModel } from '../onnx/codec';
import { toModelProto } from '../onnx/serialize';
import { TensorDataType } from '../onnx/proto-types';
import { float32ToHalf } from '../../shared/float16';
import { ConvertError } from './errors';
import type { FileSink, SinkFile } from './file-sink';

export interface WriteGraphOptions {
  /** Largest external data file (default 1e9 bytes: browsers and WASM32 offsets need files well under 4 GiB). */
  maxDataFileBytes?: number;
  /** Initializers below this stay inside the protobuf (default 1024). */
  minExternalBytes?: number;
  /** Offset alignment inside data files (default 64). */
  alignment?: number;
  /**
   * Store float32 checkpoint weights (`isWeight(name)`: not computed tables such as RoPE caches) of rank ≥ 2 and at
   * least 1024 bytes as float16 followed by a Cast back to float32: half the file, activations stay float32 (and run
   * on adapters without shader-f16); onnxruntime folds the Casts when it creates the session.
   */
  half?: (name: string) => boolean;
}

export interface WrittenGraph {
  /** The .onnx file, relative to the folder. */
  file: string;
  /** External data files, in order. */
  data: string[];
  /** Bytes of all initializers (the graph's weights). */
  weightBytes: number;
}

/** One initializer as written: where its bytes went (or the bytes, when it stays in the protobuf). */
export interface PlacedInitializer {
  name: string;
  dtype: ElemType;
  dims: number[];
  byteLength: number;
  at?: { location: string; offset: number; length: number };
  /** Bytes of an initializer kept inside the protobuf (small: under minExternalBytes). */
  inline?: number[];
  /** The float32 name this float16 copy is Cast back to. */
  castTo?: string;
}

/** What is written of a graph so far: enough to rebuild it without writing those initializers again. */
export interface GraphProgress {
  file: string;
  initializers: PlacedInitializer[];
  /** External data files opened so far, in order; the last one is still open. */
  data: string[];
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Streams a graph's initializers into `sink` as `relPath` + `_data`, `_data_1`, … (transformers.js names) while the
 * graph is built; `finish` writes the .onnx protobuf. With `resume`, the first initializers the builder adds are
 * taken as already written there (their shapes are checked) and only the rest are computed and written.
 */
export class GraphStream {
  readonly hook: InitializerHook;
  private readonly placed: PlacedInitializer[] = [];
  private readonly data: string[] = [];
  private current: SinkFile | null = null;
  private readonly casts: Array<[string, string]> = [];
  private readonly maxFile: number;
  private readonly minBytes: number;
  private readonly align: number;
  private readonly dir: string;
  private readonly base: string;

  constructor(
    private readonly sink: FileSink,
    private readonly relPath: string,
    private readonly options: WriteGraphOptions = {},
    private readonly resume: GraphProgress | null = null,
  ) {
    this.maxFile = options.maxDataFileBytes ?? 1e9;
    this.minBytes = options.minExternalBytes ?? 1024;
    this.align = options.alignment ?? 64;
    this.dir = relPath.slice(0, relPath.lastIndexOf('/') + 1);
    this.base = relPath.slice(relPath.lastIndexOf('/') + 1);
    if (resume !== null && resume.data.length > 0) {
      if (sink.reopen === undefined) throw new Error('this sink cannot resume a graph');
      this.data.push(...resume.data);
      this.current = sink.reopen(resume.data[resume.data.length - 1] as string);
    }
    this.hook = (init, graph) => this.add(init, graph);
  }

  /** Initializers written (or taken from the resumed run) so far. */
  get count(): number {
    return this.placed.length;
  }

  /** A snapshot for the conversion journal. */
  progress(): GraphProgress {
    return { file: this.relPath, initializers: [...this.placed], data: [...this.data] };
  }

  private add(init: InitializerSpec, graph: GraphBuilder): InitializerSpec {
    const done = this.resume?.initializers[this.placed.length];
    if (done !== undefined) return this.replay(init, done, graph);
    let spec = init;
    const half =
      init.dtype === 'float32' &&
      init.dims.length >= 2 &&
      init.byteLength >= 1024 &&
      this.options.half?.(init.name) === true;
    if (half) {
      const bytes = initializerBytes(init);
      const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const halfBytes = new Uint8Array(float32ToHalf(values).buffer);
      const name = graph.fresh(`${init.name.replace(/^\//, '')}_fp16`);
      spec = { name, dtype: 'float16', dims: init.dims, byteLength: halfBytes.byteLength, bytes: halfBytes };
      this.casts.push([name, init.name]);
    }
    const record: PlacedInitializer = {
      name: spec.name,
      dtype: spec.dtype,
      dims: [...spec.dims],
      byteLength: spec.byteLength,
      ...(half ? { castTo: init.name } : {}),
    };
    if (spec.byteLength < this.minBytes) {
      const bytes = initializerBytes(spec);
      this.placed.push({ ...record, inline: [...bytes] });
      return { name: spec.name, dtype: spec.dtype, dims: spec.dims, byteLength: spec.byteLength, bytes };
    }
    record.at = this.place(spec);
    this.placed.push(record);
    // Only the shape stays in the graph: the bytes are in the sink.
    return { name: spec.name, dtype: spec.dtype, dims: spec.dims, byteLength: spec.byteLength };
  }

  /** An initializer the interrupted run wrote: nothing is computed, the builder's (zero) data is dropped. */
  private replay(init: InitializerSpec, done: PlacedInitializer, graph: GraphBuilder): InitializerSpec {
    const name = done.castTo === undefined ? init.name : graph.fresh(`${init.name.replace(/^\//, '')}_fp16`);
    const shapeOk =
      sameShape(init.dims, done.dims) && (done.castTo !== undefined || init.dtype === done.dtype);
    if (name !== done.name || !shapeOk || (done.castTo !== undefined && done.castTo !== init.name)) {
      throw new ConvertError(
        'resume-mismatch',
        `${this.relPath}: initializer ${this.placed.length} is ${init.name} [${init.dims.join(', ')}] now but ` +
          `${done.castTo ?? done.name} [${done.dims.join(', ')}] in the interrupted run. Start the conversion over.`,
      );
    }
    if (done.castTo !== undefined) this.casts.push([done.name, done.castTo]);
    this.placed.push(done);
    const spec: InitializerSpec = { name, dtype: done.dtype, dims: done.dims, byteLength: done.byteLength };
    if (done.inline !== undefined) spec.bytes = Uint8Array.from(done.inline);
    return spec;
  }

  private place(spec: InitializerSpec): { location: string; offset: number; length: number } {
    const size = spec.byteLength;
    if (size > this.maxFile)
      throw new RangeError(`tensor ${spec.name} (${size} bytes) exceeds the data file limit ${this.maxFile}`);
    if (this.current !== null) {
      this.current.pad(this.align);
      if (this.current.written + size > this.maxFile) {
        this.current.close();
        this.current = null;
      }
    }
    if (this.current === null) {
      this.current = this.sink.open(`${this.dir}${externalDataPath(this.base, this.data.length)}`);
      this.data.push(this.current.relPath);
    }
    const at = {
      location: externalDataPath(this.base, this.data.length - 1),
      offset: this.current.written,
      length: size,
    };
    // A deferred initializer computes its bytes here, and they are dropped once written.
    this.current.write(initializerBytes(spec));
    return at;
  }

  /** Closes the data files, adds the fp16 Casts and writes the .onnx protobuf. */
  finish(graph: GraphBuilder): WrittenGraph {
    this.current?.close();
    this.current = null;
    // Casts go first so the node list stays topologically sorted.
    graph.nodes.unshift(
      ...this.casts.map(([from, to]) => ({
        opType: 'Cast',
        name: graph.fresh('Cast_fp16_node'),
        domain: '',
        inputs: [from],
        outputs: [to],
        attrs: { to: TensorDataType.FLOAT },
      })),
    );
    const where = new Map(this.placed.map((p) => [p.name, p.at]));
    const model = toModelProto(graph, (init) => where.get(init.name), 'llava-browser-convert');
    this.sink.writeFile(this.relPath, encodeModel(model));
    const weightBytes = this.placed.reduce((n, p) => n + p.byteLength, 0);
    return { file: this.relPath, data: this.data.map((d) => d), weightBytes };
  }
}
