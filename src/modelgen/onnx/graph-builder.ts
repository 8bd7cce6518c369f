// Owns the in-memory graph DSL (inputs, initializers, nodes, outputs) used to write ONNX models. It must not encode
// protobufs (serialize.ts) nor know any model architecture (src/modelgen/llava/ does).

/** Element types the builder can declare for inputs, outputs and initializers. */
export type ElemType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';

/** A dimension: a number, or a symbolic name such as 'batch_size'. */
export type Dim = number | string;

/** Typed data for an initializer; bytes are taken as little-endian views, without copying. */
export type TypedData = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;

/** A tensor given to {@link GraphBuilder.initializer} (float16 data is passed as raw Uint16Array bits). */
export interface TensorInit {
  dtype: ElemType;
  dims: readonly number[];
  data: TypedData;
}

/** A float attribute (plain numbers are always INT attributes, so floats must be marked). */
export interface FloatAttr {
  kind: 'float';
  value: number;
}
export interface FloatsAttr {
  kind: 'floats';
  value: readonly number[];
}
export interface TensorAttr {
  kind: 'tensor';
  value: TensorInit;
}
/** Attribute values: integer numbers/arrays become INT/INTS, strings STRING/STRINGS; floats and tensors are marked. */
export type AttrValue =
  number | string | readonly number[] | readonly string[] | FloatAttr | FloatsAttr | TensorAttr;

/** Marks a float attribute, e.g. `{ epsilon: attrFloat(1e-5) }`. */
export function attrFloat(value: number): FloatAttr {
  return { kind: 'float', value };
}
/** Marks a list-of-floats attribute. */
export function attrFloats(value: readonly number[]): FloatsAttr {
  return { kind: 'floats', value };
}
/** Marks a tensor attribute (e.g. for Constant or ConstantOfShape). */
export function attrTensor(value: TensorInit): TensorAttr {
  return { kind: 'tensor', value };
}

export interface ValueDecl {
  name: string;
  dtype: ElemType;
  dims: readonly Dim[];
}

export interface NodeSpec {
  opType: string;
  name: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export interface InitializerSpec {
  name: string;
  dtype: ElemType;
  dims: readonly number[];
  byteLength: number;
  /** Little-endian bytes of the tensor (a view over the caller's typed array), or absent when deferred. */
  bytes?: Uint8Array;
  /** Deferred initializers write their bytes into `dst` (byteLength long, 4-byte aligned) at serialisation time. */
  fill?: (dst: Uint8Array) => void;
  /**
   * The weight (llava-hf name) a deferred `fill` reads: a converter streaming a checkpoint runs the fill when that
   * tensor's bytes arrive. Absent: the fill needs nothing external (or the bytes are already there).
   */
  source?: string;
  /**
   * The bytes as they already are in memory (a weight stored unchanged, a quantiser's result): a writer may take
   * them without a copy.
   */
  view?: () => Uint8Array;
  /**
   * The bytes for rows [first, first + count) of the `source` weight alone (its first axis), given their float32
   * values: a writer may stream the weight row block by row block instead of holding it whole. Only for bytes laid
   * out by source row with the same count per row (a weight stored as it is, a row-wise quantiser's outputs).
   */
  rows?: (first: number, count: number, data: Float32Array) => Uint8Array;
}

/**
 * Called with each initializer as it is added; returns the spec the graph keeps, possibly under another name (an
 * fp16 copy whose Cast the hook adds later). It may call `graph.fresh` for that name.
 */
export type InitializerHook = (init: InitializerSpec, graph: GraphBuilder) => InitializerSpec;

/** The bytes of an initializer, computing a deferred one into a fresh buffer. */
export function initializerBytes(init: InitializerSpec): Uint8Array {
  if (init.bytes !== undefined) return init.bytes;
  const out = new Uint8Array(init.byteLength);
  init.fill?.(out);
  return out;
}

export interface NodeOptions {
  /** Output count (auto-named) or explicit output names. Default 1. */
  outputs?: number | readonly string[];
  /** Operator domain, '' for ai.onnx (default), 'com.microsoft' for contrib ops. */
  domain?: string;
  /** Node name; generated when absent. */
  name?: string;
}

const ELEM_BYTES: Record<ElemType, number> = {
  float32: 4,
  float16: 2,
  int64: 8,
  int32: 4,
  uint8: 1,
  int8: 1,
  bool: 1,
};

/** Bytes per element of an element type. */
export function elemBytes(dtype: ElemType): number {
  return ELEM_BYTES[dtype];
}

/**
 * A graph under construction. Node outputs are auto-named under the current scope (see {@link GraphBuilder.scope}),
 * so graphs read like the PyTorch module tree in Netron.
 */
export class GraphBuilder {
  readonly name: string;
  readonly inputs: ValueDecl[] = [];
  readonly outputs: ValueDecl[] = [];
  readonly nodes: NodeSpec[] = [];
  readonly initializers = new Map<string, InitializerSpec>();
  /** Opset version per operator domain ('' = ai.onnx). */
  readonly opsets = new Map<string, number>([['', 17]]);

  private readonly used = new Set<string>();
  private readonly constCache = new Map<string, string>();
  private scopes: string[] = [];
  private counter = 0;
  /**
   * Sees every initializer as it is added and returns what the graph keeps (a streaming writer stores the bytes at
   * once and keeps only the shape, so a graph never holds all its weights).
   */
  private readonly onInitializer: InitializerHook | null;

  constructor(name: string, options: { onInitializer?: InitializerHook | undefined } = {}) {
    this.name = name;
    this.onInitializer = options.onInitializer ?? null;
  }

  private keep(spec: InitializerSpec): void {
    const kept = this.onInitializer === null ? spec : this.onInitializer(spec, this);
    this.initializers.set(kept.name, kept);
  }

  /** Declares a graph input and returns its name. */
  input(name: string, dtype: ElemType, dims: readonly Dim[]): string {
    this.claim(name);
    this.inputs.push({ name, dtype, dims: [...dims] });
    return name;
  }

  /**
   * Declares a graph output. When `from` names a different value, an Identity node renames it; otherwise `name`
   * must already be produced by a node.
   */
  output(name: string, dtype: ElemType, dims: readonly Dim[], from?: string): string {
    if (from !== undefined && from !== name) {
      this.node('Identity', [from], {}, { outputs: [name] });
    }
    this.outputs.push({ name, dtype, dims: [...dims] });
    return name;
  }

  /** Adds a named initializer (weights); throws when the name is taken or the data size does not match dims. */
  initializer(name: string, tensor: TensorInit): string {
    this.claim(name);
    return this.putInitializer(name, tensor);
  }

  private putInitializer(name: string, tensor: TensorInit): string {
    const count = tensor.dims.reduce((a, b) => a * b, 1);
    const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    if (bytes.byteLength !== count * ELEM_BYTES[tensor.dtype]) {
      throw new RangeError(
        `initializer ${name}: ${bytes.byteLength} bytes for dims [${tensor.dims.join(', ')}]`,
      );
    }
    this.keep({ name, dtype: tensor.dtype, dims: [...tensor.dims], byteLength: bytes.byteLength, bytes });
    return name;
  }

  /**
   * Adds an initializer whose bytes are computed only when serialised, so a large model is not held twice in memory:
   * either `fill` computes them straight into the output buffer (a zeroed, 4-byte-aligned view; e.g. a transposed
   * weight) or `view` hands them as they already exist (then the fill copies that view). `source` names the weight
   * they are made from and `rows` makes them row block by row block (see {@link InitializerSpec}).
   */
  deferredInitializer(
    name: string,
    dtype: ElemType,
    dims: readonly number[],
    how: Pick<InitializerSpec, 'source' | 'rows'> &
      ({ fill: (dst: Uint8Array) => void; view?: undefined } | { view: () => Uint8Array; fill?: undefined }),
  ): string {
    this.claim(name);
    const byteLength = dims.reduce((a, b) => a * b, 1) * ELEM_BYTES[dtype];
    const { fill, view, source, rows } = how;
    this.keep({
      name,
      dtype,
      dims: [...dims],
      byteLength,
      fill: fill ?? ((dst) => dst.set(view())),
      ...(source === undefined ? {} : { source }),
      ...(view === undefined ? {} : { view }),
      ...(rows === undefined ? {} : { rows }),
    });
    return name;
  }

  /** An int64 constant initializer, shared between uses with the same values and dims. */
  constInt64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit !== undefined) return hit;
    const name = this.fresh('const_i64');
    this.putInitializer(name, { dtype: 'int64', dims, data: BigInt64Array.from(values, (v) => BigInt(v)) });
    this.constCache.set(key, name);
    return name;
  }

  /** A float32 constant initializer, shared between uses with the same values and dims (for small constants). */
  constFloat(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `f32:${dims.join('x')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit !== undefined) return hit;
    const name = this.fresh('const_f32');
    this.putInitializer(name, { dtype: 'float32', dims, data: Float32Array.from(values) });
    this.constCache.set(key, name);
    return name;
  }

  /** Adds a node and returns its output names. An empty-string input means an omitted optional input. */
  node(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    options: NodeOptions = {},
  ): string[] {
    const domain = options.domain ?? '';
    if (!this.opsets.has(domain)) this.opsets.set(domain, 1);
    const spec = options.outputs ?? 1;
    const outputs =
      typeof spec === 'number'
        ? Array.from({ length: spec }, (_, i) => this.fresh(spec === 1 ? opType : `${opType}_out${i}`))
        : spec.map((n) => {
            this.claim(n);
            return n;
          });
    const name = options.name ?? this.fresh(`${opType}_node`);
    this.nodes.push({ opType, name, domain, inputs: [...inputs], outputs, attrs });
    return outputs;
  }

  /** {@link node} for single-output operators: returns the one output name. */
  op(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    options: NodeOptions = {},
  ): string {
    const [out] = this.node(opType, inputs, attrs, { ...options, outputs: options.outputs ?? 1 });
    if (out === undefined) throw new Error(`${opType} produced no output`);
    return out;
  }

  /** Runs `build` with `name` pushed onto the naming scope (e.g. 'layers.3/attn'). */
  scope<T>(name: string, build: () => T): T {
    this.scopes.push(name);
    try {
      return build();
    } finally {
      this.scopes.pop();
    }
  }

  /** Total bytes held by initializers. */
  weightBytes(): number {
    let total = 0;
    for (const init of this.initializers.values()) total += init.byteLength;
    return total;
  }

  /** A new unique value name under the current scope. */
  fresh(base: string): string {
    const prefix = this.scopes.length > 0 ? `/${this.scopes.join('/')}/` : '/';
    let name: string;
    do name = `${prefix}${base}_${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  private claim(name: string): void {
    if (this.used.has(name)) throw new Error(`duplicate value name in graph ${this.name}: ${name}`);
    this.used.add(name);
  }
}
