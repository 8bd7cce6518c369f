// Owns writing safetensors files one tensor at a time (F32, F16 or BF16), for test checkpoints and benchmarks. It
// never holds more than one tensor; it knows nothing of model names.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { F32Tensor } from '../llava/types';
import { float32ToHalf } from '../../shared/float16';
import { float32ToBfloat16 } from './float-bits';

export type SafetensorsWriteDtype = 'F32' | 'F16' | 'BF16';

export interface TensorSpecLike {
  name: string;
  dims: readonly number[];
}

export interface WriteSafetensorsOptions {
  dtype?: SafetensorsWriteDtype;
  /** `__metadata__` (string values only), e.g. `{format: 'pt'}` as torch writes it. */
  metadata?: Record<string, string>;
}

const BYTES: Record<SafetensorsWriteDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** The header bytes (length prefix + JSON padded with spaces to 8 bytes) for tensors laid out in the given order. */
export function safetensorsHeader(
  specs: readonly TensorSpecLike[],
  dtype: SafetensorsWriteDtype,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let at = 0;
  for (const s of specs) {
    const bytes = s.dims.reduce((a, b) => a * b, 1) * BYTES[dtype];
    header[s.name] = { dtype, shape: [...s.dims], data_offsets: [at, at + bytes] };
    at += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.byteLength), true);
  out.set(text, 8);
  return out;
}

function encode(values: Float32Array, dtype: SafetensorsWriteDtype): Uint8Array {
  const typed =
    dtype === 'F32' ? values : dtype === 'F16' ? float32ToHalf(values) : float32ToBfloat16(values);
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/**
 * Writes `specs` to `path`, asking `fill` for each tensor's float32 values in turn (so a multi-GB checkpoint needs
 * one tensor of memory). Values are rounded to nearest even for F16/BF16. Returns the file size.
 * Throws RangeError when `fill` returns the wrong number of values.
 */
export function writeSafetensors(
  path: string,
  specs: readonly TensorSpecLike[],
  fill: (spec: TensorSpecLike) => Float32Array,
  options: WriteSafetensorsOptions = {},
): number {
  const dtype = options.dtype ?? 'F32';
  const head = safetensorsHeader(specs, dtype, options.metadata);
  const fd = openSync(path, 'w');
  try {
    let size = writeSync(fd, head);
    for (const spec of specs) {
      const values = fill(spec);
      const count = spec.dims.reduce((a, b) => a * b, 1);
      if (values.length !== count)
        throw new RangeError(`${spec.name}: ${values.length} values for [${spec.dims.join(', ')}]`);
      const bytes = encode(values, dtype);
      for (let done = 0; done < bytes.byteLength;)
        done += writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30));
      size += bytes.byteLength;
    }
    return size;
  } finally {
    closeSync(fd);
  }
}

/** Writes named in-memory tensors (e.g. a WeightMap under renamed keys) in the order given. */
export function writeTensorsSafetensors(
  path: string,
  tensors: Iterable<readonly [string, F32Tensor]>,
  options: WriteSafetensorsOptions = {},
): number {
  const byName = new Map<string, F32Tensor>();
  for (const [name, t] of tensors) byName.set(name, t);
  const specs = [...byName].map(([name, t]) => ({ name, dims: t.dims }));
  return writeSafetensors(path, specs, (s) => (byName.get(s.name) as F32Tensor).data, options);
}
