// Owns small typed-array helpers for ORT tensors: float16 <-> float32 (the bits: src/shared/float16.ts), int64 ids,
// and slicing the sequence axis of a KV tensor. Pure except for reading a tensor's data (which may live on the GPU); it never runs a session.

import { float32ToHalf, halfToFloat32 } from '../shared/float16';
import type { OrtRuntime, OrtTensor } from './runtime';

/** Element data of the float tensors the engine handles (float16 travels as raw Uint16 bits). */
export type FloatData = Float32Array | Uint16Array;
export type FloatType = 'float32' | 'float16';

/** Converts float data to the wanted element type (copying only when the types differ). */
export function convertFloat(data: FloatData, from: FloatType, to: FloatType): FloatData {
  if (from === to) return data;
  return to === 'float16' ? float32ToHalf(data) : halfToFloat32(data as Uint16Array);
}

/** Logits as float32, whatever the graph returned. */
export function floatsOf(tensor: OrtTensor): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') {
    const raw = tensor.data;
    // A runtime with Float16Array hands numbers; older ones hand the raw bits.
    if (raw instanceof Uint16Array) return convertFloat(raw, 'float16', 'float32') as Float32Array;
    return Float32Array.from(raw as ArrayLike<number>);
  }
  throw new Error(`Expected float logits, got ${tensor.type}.`);
}

/**
 * A float tensor's elements as a copy the runtime cannot reuse; float16 comes back as raw bits even from runtimes
 * that hand out Float16Array. GPU tensors are downloaded.
 */
export async function readFloatData(tensor: OrtTensor): Promise<{ data: FloatData; type: FloatType }> {
  const raw = tensor.location === 'cpu' ? tensor.data : await tensor.getData();
  if (tensor.type === 'float32') return { data: new Float32Array(raw as Float32Array), type: 'float32' };
  if (tensor.type === 'float16') {
    if (raw instanceof Uint16Array) return { data: new Uint16Array(raw), type: 'float16' };
    return { data: float32ToHalf(raw as ArrayLike<number>), type: 'float16' };
  }
  throw new Error(`Expected a float tensor, got ${tensor.type}.`);
}

export function allocFloat(type: FloatType, length: number): FloatData {
  return type === 'float16' ? new Uint16Array(length) : new Float32Array(length);
}

/** An int64 tensor of shape `dims` from plain numbers. */
export function int64Tensor(ort: OrtRuntime, values: readonly number[], dims: readonly number[]): OrtTensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(values, (v) => BigInt(v)),
    dims,
  );
}

/** A float tensor of the given element type. */
export function floatTensor(
  ort: OrtRuntime,
  type: FloatType,
  data: FloatData,
  dims: readonly number[],
): OrtTensor {
  return type === 'float16'
    ? new ort.Tensor('float16', data as Uint16Array, dims)
    : new ort.Tensor('float32', data as Float32Array, dims);
}

/**
 * Keeps the first `length` positions of a [batch, heads, seq, headDim] tensor, returned as a CPU tensor.
 * GPU tensors are downloaded once; the caller disposes the old tensor.
 */
export async function sliceSequence(ort: OrtRuntime, tensor: OrtTensor, length: number): Promise<OrtTensor> {
  const [b, h, s, d] = tensor.dims as [number, number, number, number];
  const { data: raw } = await readFloatData(tensor);
  const out =
    raw instanceof Uint16Array ? new Uint16Array(b * h * length * d) : new Float32Array(b * h * length * d);
  for (let bh = 0; bh < b * h; bh++) {
    out.set(raw.subarray(bh * s * d, bh * s * d + length * d), bh * length * d);
  }
  return floatTensor(ort, tensor.type as FloatType, out, [b, h, length, d]);
}
