// Owns laying out and writing one graph: while the builder adds initializers, each gets its place in the external
// data files by size alone (fp16 storage applied), bytes at hand are written at once and weight-derived ones wait
// as fills for their checkpoint tensor; the protobuf is written last. A graph never holds its weights, and the same
// layout comes out whatever order the bytes arrive in. It knows no model structure and reads no checkpoint.
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
import type { FileSink } from './file-sink';

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

/** Writes an initializer's bytes at their place in a data file (files are written out of order, by position). */
export interface DataFileWriter {
  /** A data file placed (`size` known once the graph is built); called before any write to it. */
  placed(relPath: string): void;
  writeAt(relPath: string, bytes: Uint8Array, at: number): void;
}

/** An initializer whose bytes wait for a checkpoint tensor: `run` computes and writes them once it is held. */
export interface PendingFill {
  /** The llava-hf name of the tensor it reads. */
  source: string;
  /** The data file it writes into, or null when it stays inside the protobuf. */
  dataFile: string | null;
  /** `graph file|initializer`: names its inline bytes in a journal. */
  key: string;
  /** Computes and writes the bytes; returns them when they stay inline (for the journal), else null. */
  run(): Uint8Array | null;
  /** The inline bytes a resumed run takes from the journal instead of computing them. */
  restore(bytes: Uint8Array): void;
  /**
   * Present when the bytes come row by row from the source tensor (its first axis, `total` rows): writes the bytes
   * of rows [first, first + count), their float32 values in `data`. When every fill of a tensor offers it, the data
   * pass streams that tensor in row blocks instead of holding its float32 form whole.
   */
  rows?: (first: number, count: number, total: number, data: Float32Array) => void;
}

/**
 * Lays out a graph's initializers as `relPath` + `_data`, `_data_1`, … (transformers.js names) while the graph is
 * built, in the order the builder adds them: bytes at hand are written at once, initializers made from a checkpoint
 * tensor become {@link PendingFill}s that a data pass runs when that tensor streams past. `finish` writes the .onnx
 * protobuf once every fill has run. The layout depends only on shapes, so it is the same however the bytes arrive.
 */
export class GraphStream {
  readonly hook: InitializerHook;
  readonly pending: PendingFill[] = [];
  private readonly placed: PlacedInitializer[] = [];
  private readonly data: string[] = [];
  /** Bytes laid out in the last data file. */
  private size = 0;
  private readonly sizes = new Map<string, number>();
  private readonly casts: Array<[string, string]> = [];
  private readonly maxFile: number;
  private readonly minBytes: number;
  private readonly align: number;
  private readonly dir: string;
  private readonly base: string;

  constructor(
    private readonly sink: FileSink,
    private readonly relPath: string,
    private readonly files: DataFileWriter,
    private readonly options: WriteGraphOptions = {},
  ) {
    this.maxFile = options.maxDataFileBytes ?? 1e9;
    this.minBytes = options.minExternalBytes ?? 1024;
    this.align = options.alignment ?? 64;
    this.dir = relPath.slice(0, relPath.lastIndexOf('/') + 1);
    this.base = relPath.slice(relPath.lastIndexOf('/') + 1);
    this.hook = (init, graph) => this.add(init, graph);
  }

  /** Data files and their sizes, once the graph is built. */
  dataFiles(): Array<{ relPath: string; size: number }> {
    return this.data.map((relPath) => ({ relPath, size: this.sizes.get(relPath) ?? 0 }));
  }

  private add(init: InitializerSpec, graph: GraphBuilder): InitializerSpec {
    const half =
      init.dtype === 'float32' &&
      init.dims.length >= 2 &&
      init.byteLength >= 1024 &&
      this.options.half?.(init.name) === true;
    let spec: InitializerSpec = init;
    // Bytes already in memory (a weight stored unchanged, a quantiser's result) are written as they are: no copy.
    const source = (): Uint8Array => {
      const view = init.view?.();
      if (view === undefined) return initializerBytes(init);
      if (view.byteLength !== init.byteLength)
        throw new Error(`${init.name}: ${view.byteLength} bytes at hand for ${init.byteLength}`);
      return view;
    };
    const halve = (b: Uint8Array): Uint8Array =>
      new Uint8Array(float32ToHalf(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4)).buffer);
    let bytes = source;
    const rowsOf = init.rows;
    let rowBytes = rowsOf;
    if (half) {
      const name = graph.fresh(`${init.name.replace(/^\//, '')}_fp16`);
      spec = { name, dtype: 'float16', dims: init.dims, byteLength: init.byteLength / 2 };
      bytes = () => halve(source());
      if (rowsOf !== undefined) rowBytes = (first, count, data) => halve(rowsOf(first, count, data));
      this.casts.push([name, init.name]);
    }
    const record: PlacedInitializer = {
      name: spec.name,
      dtype: spec.dtype,
      dims: [...spec.dims],
      byteLength: spec.byteLength,
      ...(half ? { castTo: init.name } : {}),
    };
    this.placed.push(record);
    const kept: InitializerSpec = {
      name: spec.name,
      dtype: spec.dtype,
      dims: spec.dims,
      byteLength: spec.byteLength,
    };
    const waits = init.source !== undefined && init.bytes === undefined;
    if (spec.byteLength < this.minBytes) {
      // Small: inside the protobuf, which is written once every fill has run.
      kept.fill = (dst) => {
        if (record.inline === undefined) throw new Error(`${this.relPath}: ${spec.name} was never filled`);
        dst.set(record.inline);
      };
      if (!waits) record.inline = [...bytes()];
      else
        this.pending.push({
          source: init.source as string,
          dataFile: null,
          key: `${this.relPath}|${spec.name}`,
          run: () => {
            const b = bytes();
            record.inline = [...b];
            return b;
          },
          restore: (b) => {
            record.inline = [...b];
          },
        });
      return kept;
    }
    const at = this.place(spec);
    record.at = at;
    const file = `${this.dir}${at.location}`;
    if (!waits) this.files.writeAt(file, bytes(), at.offset);
    else
      this.pending.push({
        source: init.source as string,
        dataFile: file,
        key: `${this.relPath}|${spec.name}`,
        run: () => {
          this.files.writeAt(file, bytes(), at.offset);
          return null;
        },
        restore: () => undefined,
        ...(rowBytes === undefined
          ? {}
          : {
              rows: (first: number, count: number, total: number, data: Float32Array) => {
                const perRow = spec.byteLength / total;
                const b = rowBytes(first, count, data);
                if (!Number.isInteger(perRow) || b.byteLength !== count * perRow)
                  throw new Error(`${spec.name}: ${b.byteLength} bytes for ${count} of ${total} rows`);
                this.files.writeAt(file, b, at.offset + first * perRow);
              },
            }),
      });
    // Only the shape stays in the graph: the bytes go to the data file.
    return kept;
  }

  private place(spec: InitializerSpec): { location: string; offset: number; length: number } {
    const size = spec.byteLength;
    if (size > this.maxFile)
      throw new RangeError(`tensor ${spec.name} (${size} bytes) exceeds the data file limit ${this.maxFile}`);
    if (this.data.length > 0) {
      this.size += (this.align - (this.size % this.align)) % this.align;
      if (this.size + size > this.maxFile) this.size = -1;
    }
    if (this.data.length === 0 || this.size < 0) {
      const relPath = `${this.dir}${externalDataPath(this.base, this.data.length)}`;
      this.data.push(relPath);
      this.size = 0;
      this.files.placed(relPath);
    }
    const at = {
      location: externalDataPath(this.base, this.data.length - 1),
      offset: this.size,
      length: size,
    };
    this.size += size;
    this.sizes.set(this.data[this.data.length - 1] as string, this.size);
    return at;
  }

  /** Adds the fp16 Casts and writes the .onnx protobuf (every fill has run by now). */
  finish(graph: GraphBuilder): WrittenGraph {
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
    return { file: this.relPath, data: [...this.data], weightBytes };
  }
}
