// Owns reading the byte size of every weight an ONNX model declares (initializers, Constant tensors, subgraphs'
// weights) straight from the protobuf wire format, skipping over the data. It must not decode graphs or copy bytes.

/** One weight of a model: how big it is once it sits in memory (or in a GPU buffer). */
export interface TensorSize {
  name: string;
  dims: number[];
  /** TensorProto.DataType (1 float, 10 float16, 2 uint8, 22 int4, …). */
  dataType: number;
  bytes: number;
  /** True when its data lives in an external data file. */
  external: boolean;
}

/** Bytes per element by TensorProto.DataType; the 4-bit types pack two elements a byte. */
const ELEMENT_BYTES: Readonly<Record<number, number>> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  14: 8,
  15: 16,
  16: 2,
  17: 1,
  18: 1,
  19: 1,
  20: 1,
  21: 0.5,
  22: 0.5,
  23: 0.5,
};

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

const utf8 = new TextDecoder();

/** A cursor over one protobuf message (a window of the file's bytes). */
class Wire {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new Error('varint too long');
  }

  /** The next field's number and wire type. */
  tag(): [field: number, wireType: number] {
    const t = this.varint();
    return [Math.floor(t / 8), t % 8];
  }

  /** A length-delimited field as a sub-cursor; the outer cursor moves past it. */
  sub(): Wire {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) throw new Error('truncated field');
    this.pos = start + length;
    return new Wire(this.buf, start, start + length);
  }

  string(): string {
    const s = this.sub();
    return utf8.decode(this.buf.subarray(s.pos, s.end));
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === FIXED64) this.pos += 8;
    else if (wireType === LEN) this.sub();
    else if (wireType === FIXED32) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new Error('truncated field');
  }
}

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9, external_data = 13 (key = 1, value = 2). */
function readTensor(w: Wire): TensorSize {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let stored = 0;
  let externalLength: number | null = null;
  let external = false;
  while (!w.done) {
    const [field, type] = w.tag();
    if (field === 1 && type === VARINT) dims.push(w.varint());
    else if (field === 1 && type === LEN) {
      const packed = w.sub();
      while (!packed.done) dims.push(packed.varint());
    } else if (field === 2 && type === VARINT) dataType = w.varint();
    else if (field === 8 && type === LEN) name = w.string();
    else if (field === 9 && type === LEN) {
      const raw = w.sub();
      stored = raw.end - raw.pos;
    } else if (field === 13 && type === LEN) {
      external = true;
      const entry = w.sub();
      let key = '';
      let value = '';
      while (!entry.done) {
        const [f, t] = entry.tag();
        if (f === 1 && t === LEN) key = entry.string();
        else if (f === 2 && t === LEN) value = entry.string();
        else entry.skip(t);
      }
      if (key === 'length' && /^\d+$/.test(value)) externalLength = Number(value);
    } else w.skip(type);
  }
  const perElement = ELEMENT_BYTES[dataType];
  const count = dims.reduce((n, d) => n * d, 1);
  const bytes = perElement !== undefined ? Math.ceil(count * perElement) : (externalLength ?? stored);
  return { name, dims, dataType, bytes, external };
}

/** SparseTensorProto (values = 1, dims = 3): ORT densifies it, so its size is the dense one. */
function readSparse(w: Wire): TensorSize | null {
  let values: TensorSize | null = null;
  const dims: number[] = [];
  while (!w.done) {
    const [field, type] = w.tag();
    if (field === 1 && type === LEN) values = readTensor(w.sub());
    else if (field === 3 && type === VARINT) dims.push(w.varint());
    else if (field === 3 && type === LEN) {
      const packed = w.sub();
      while (!packed.done) dims.push(packed.varint());
    } else w.skip(type);
  }
  if (!values) return null;
  const perElement = ELEMENT_BYTES[values.dataType] ?? 0;
  return { ...values, dims, bytes: Math.ceil(dims.reduce((n, d) => n * d, 1) * perElement) };
}

/** AttributeProto: t = 5, g = 6, tensors = 10, graphs = 11, sparse_tensor = 22, sparse_tensors = 23. */
function readAttribute(w: Wire, out: TensorSize[]): void {
  while (!w.done) {
    const [field, type] = w.tag();
    if (type !== LEN) w.skip(type);
    else if (field === 5 || field === 10) out.push(readTensor(w.sub()));
    else if (field === 6 || field === 11) readGraph(w.sub(), out);
    else if (field === 22 || field === 23) {
      const sparse = readSparse(w.sub());
      if (sparse) out.push(sparse);
    } else w.skip(type);
  }
}

/** GraphProto: node = 1 (NodeProto, attribute = 5), initializer = 5, sparse_initializer = 15. */
function readGraph(w: Wire, out: TensorSize[]): void {
  while (!w.done) {
    const [field, type] = w.tag();
    if (type !== LEN) w.skip(type);
    else if (field === 5) out.push(readTensor(w.sub()));
    else if (field === 15) {
      const sparse = readSparse(w.sub());
      if (sparse) out.push(sparse);
    } else if (field === 1) {
      const node = w.sub();
      while (!node.done) {
        const [f, t] = node.tag();
        if (f === 5 && t === LEN) readAttribute(node.sub(), out);
        else node.skip(t);
      }
    } else w.skip(type);
  }
}

/**
 * Every weight of an ONNX model (ModelProto bytes): top-level initializers, Constant node tensors and those of
 * subgraphs (If/Loop bodies), with their in-memory sizes from dims × element size. Reads only the protobuf, so a
 * model whose weights are in external data files is measured from its small `.onnx` alone.
 * @throws Error when the bytes are not a well-formed protobuf.
 */
export function onnxTensorSizes(model: Uint8Array): TensorSize[] {
  const w = new Wire(model, 0, model.byteLength);
  const out: TensorSize[] = [];
  while (!w.done) {
    const [field, type] = w.tag();
    if (field === 7 && type === LEN) readGraph(w.sub(), out);
    else w.skip(type);
  }
  return out;
}
