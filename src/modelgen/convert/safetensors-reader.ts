// Owns reading safetensors files by streaming: the header is parsed and checked once, then each tensor's byte range
// is read on demand and widened to float32. It never holds a whole file in memory and knows nothing of model names
// or of where the bytes come from (a ByteSource: a file on disk, or HTTP Range requests).
import type { F32Tensor } from '../llava/types';
import type { ByteSource } from './byte-source';
import { ConvertError } from './errors';
import { Float32Widener, WIDENED_DTYPE_BYTES } from './chunk-widener';

/** Bytes per element of every dtype the safetensors format defines. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** One tensor of a file; `offset` is absolute in the file (header included). */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  offset: number;
  byteLength: number;
}

/** The safetensors format caps the JSON header at 100 MB; a larger claim means a corrupt or foreign file. */
const MAX_HEADER_BYTES = 100_000_000;

function bad(file: string, message: string, cause?: unknown): ConvertError {
  return new ConvertError(
    'bad-header',
    `${file}: ${message}. The file is corrupt or not a safetensors file; download or save it again.`,
    cause === undefined ? { details: { file } } : { cause, details: { file } },
  );
}

/**
 * Parses and checks a safetensors header: every tensor's byte count must equal its shape × dtype size, and the
 * tensors must tile the data area exactly (no gaps, no overlaps). A file shorter than the header promises is
 * `truncated`; any other inconsistency is `bad-header`.
 */
export function parseSafetensorsHeader(
  file: string,
  fileSize: number,
  headerBytes: Uint8Array,
): { entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (cause) {
    throw bad(file, 'the header is not valid JSON', cause);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw bad(file, 'the header is not a JSON object');
  const dataStart = 8 + headerBytes.byteLength;
  const entries = new Map<string, SafetensorsEntry>();
  const spans: Array<[begin: number, end: number, name: string]> = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    const v = (value ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const size = typeof v.dtype === 'string' ? SAFETENSORS_DTYPE_BYTES[v.dtype] : undefined;
    if (size === undefined) throw bad(file, `tensor ${name} has an unknown dtype ${JSON.stringify(v.dtype)}`);
    const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
    if (!Array.isArray(v.shape) || !v.shape.every(isCount))
      throw bad(file, `tensor ${name} has no valid shape`);
    const offsets = v.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isCount) ||
      (offsets[0] as number) > (offsets[1] as number)
    )
      throw bad(file, `tensor ${name} has no valid data_offsets`);
    const [begin, end] = offsets as [number, number];
    const expected = (v.shape as number[]).reduce((a, b) => a * b, 1) * size;
    if (end - begin !== expected) {
      throw bad(
        file,
        `the header lies about tensor ${name}: ${v.dtype} [${(v.shape as number[]).join(', ')}] needs ` +
          `${expected} bytes but its offsets span ${end - begin}`,
      );
    }
    spans.push([begin, end, name]);
    entries.set(name, {
      name,
      dtype: v.dtype as string,
      shape: v.shape as number[],
      offset: dataStart + begin,
      byteLength: end - begin,
    });
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== at) {
      throw bad(
        file,
        begin < at
          ? `the header lies about offsets: tensor ${name} overlaps the tensor before it`
          : `the header lies about offsets: ${begin - at} bytes before tensor ${name} belong to no tensor`,
      );
    }
    at = end;
  }
  const dataSize = fileSize - dataStart;
  if (at > dataSize) {
    throw new ConvertError(
      'truncated',
      `${file} is truncated: its header describes ${at} bytes of tensor data but only ${dataSize} are there ` +
        `(${at - dataSize} missing). The download was probably interrupted; download the file again.`,
      { details: { file, expected: dataStart + at, actual: fileSize } },
    );
  }
  if (at < dataSize) throw bad(file, `${dataSize - at} bytes after the last tensor belong to no tensor`);
  return { entries, metadata };
}

/** The first 8 bytes' little-endian header length, checked against the format's cap and the file's size. */
export function headerLength(name: string, size: number, first8: Uint8Array): number {
  const length = Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
  if (length > MAX_HEADER_BYTES) throw bad(name, `the header claims ${length} bytes`);
  if (8 + length > size) {
    throw new ConvertError(
      'truncated',
      `${name} is truncated: its header alone should take ${length} bytes but the file has ${size}. ` +
        'Download the file again.',
      { details: { file: name } },
    );
  }
  return length;
}

/** An open safetensors file: a checked header and tensor reads by byte range. Close it when done. */
export class SafetensorsFile {
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  readonly metadata: Readonly<Record<string, string>>;
  private source: ByteSource | null;
  readonly path: string;

  private constructor(source: ByteSource, parsed: ReturnType<typeof parseSafetensorsHeader>) {
    this.source = source;
    this.path = source.name;
    this.entries = parsed.entries;
    this.metadata = parsed.metadata;
  }

  /**
   * Checks the header of `source` (only the header is read) and keeps the source for tensor reads.
   * @throws ConvertError 'truncated' | 'bad-header'
   */
  static open(source: ByteSource): SafetensorsFile {
    try {
      const size = source.size;
      if (size < 8) {
        throw new ConvertError(
          'truncated',
          `${source.name} is truncated (${size} bytes, not even a header length). Download it again.`,
        );
      }
      const length = headerLength(source.name, size, source.read(0, 8));
      const parsed = parseSafetensorsHeader(source.name, size, source.read(8, length));
      return new SafetensorsFile(source, parsed);
    } catch (error) {
      source.close();
      throw error;
    }
  }

  /** The raw little-endian bytes of one tensor. @throws ConvertError 'missing-tensor' | 'truncated' */
  readBytes(name: string): Uint8Array {
    const e = this.entry(name);
    if (this.source === null) throw new Error(`${this.path} is closed`);
    return this.source.read(e.offset, e.byteLength);
  }

  /**
   * One tensor as float32 (F16/BF16/F32 exactly, F64 rounded), read whole (tools and tests; the converter's data
   * pass widens as the bytes stream past, see {@link widener}).
   * @throws ConvertError 'missing-tensor' | 'unsupported-dtype' | 'truncated'
   */
  readFloat32(name: string): F32Tensor {
    const e = this.entry(name);
    const out = new Float32Array(e.shape.reduce((a, b) => a * b, 1));
    const widener = this.widener(name, out);
    widener.push(this.readBytes(name));
    widener.finish();
    return { dims: [...e.shape], data: out };
  }

  /**
   * A widener of tensor `name` into `out` (which may be longer: padding rows stay as they are), for its bytes as
   * they stream past. @throws ConvertError 'missing-tensor' | 'unsupported-dtype'
   */
  widener(name: string, out: Float32Array<ArrayBuffer>): Float32Widener {
    const e = this.entry(name);
    if (WIDENED_DTYPE_BYTES[e.dtype] === undefined) {
      throw new ConvertError(
        'unsupported-dtype',
        `${this.path}: tensor ${name} is ${e.dtype}; the converter reads F32, F16, BF16 and F64 checkpoints. ` +
          'Save an unquantised (fp16/bf16/fp32) checkpoint and convert that.',
        { details: { file: this.path, tensor: name, dtype: e.dtype } },
      );
    }
    return new Float32Widener(e.dtype, out, e.byteLength / (WIDENED_DTYPE_BYTES[e.dtype] as number));
  }

  close(): void {
    this.source?.close();
    this.source = null;
  }

  private entry(name: string): SafetensorsEntry {
    const e = this.entries.get(name);
    if (e === undefined) {
      throw new ConvertError('missing-tensor', `${this.path} has no tensor ${name}.`, {
        details: { file: this.path, tensor: name },
      });
    }
    return e;
  }
}
