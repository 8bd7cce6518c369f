// Shared helpers for the modelgen-*.test.ts files: sessions from builders, decoder feeds, comparisons. Test-only.
import * as ort from 'onnxruntime-node';
import type { GraphBuilder } from '../../src/modelgen/onnx/graph-builder';
import { serializeModel } from '../../src/modelgen/onnx/serialize';
import type { LlavaHfConfig } from '../../src/modelgen/llava/types';
import { llavaDims } from '../../src/modelgen/llava/weight-spec';

export { ort };

/** An onnxruntime-node session over a graph serialised with its weights embedded. */
export async function sessionOf(graph: GraphBuilder): Promise<ort.InferenceSession> {
  const [model] = serializeModel(graph, 'model.onnx', { externalData: 'never' });
  if (model === undefined) throw new Error('no model bytes');
  return ort.InferenceSession.create(model.bytes);
}

export function i64(values: readonly number[], dims: readonly number[]): ort.Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(values, (v) => BigInt(v)),
    dims,
  );
}

export function f32(values: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', values, dims);
}

/** Deterministic pseudo-random floats in [-scale, scale). */
export function noise(count: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

/** HF position ids for a [rows × cols] attention mask: cumsum(mask) - 1, padding positions set to 1. */
export function positionIdsFor(mask: readonly number[][]): number[] {
  return mask.flatMap((row) => {
    let seen = 0;
    return row.map((m) => (m === 1 ? seen++ : 1));
  });
}

export type Feeds = Record<string, ort.Tensor>;

/** Empty past_key_values feeds (past_sequence_length 0) for global layers [start, end). */
export function emptyPast(
  config: LlavaHfConfig,
  batch: number,
  start = 0,
  end = config.text_config.num_hidden_layers,
): Feeds {
  const d = llavaDims(config);
  const feeds: Feeds = {};
  for (let i = start; i < end; i++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kind}`] = f32(new Float32Array(0), [batch, d.kvHeads, 0, d.headDim]);
    }
  }
  return feeds;
}

/** Turns a run's present.* outputs into the next step's past_key_values.* feeds. */
export function pastFrom(outputs: ort.InferenceSession.OnnxValueMapType): Feeds {
  const feeds: Feeds = {};
  for (const [name, value] of Object.entries(outputs)) {
    const m = /^present\.(\d+)\.(key|value)$/.exec(name);
    if (m) feeds[`past_key_values.${m[1]}.${m[2]}`] = value as ort.Tensor;
  }
  return feeds;
}

export function data(t: ort.Tensor | undefined): Float32Array {
  if (t === undefined) throw new Error('missing output');
  return t.data as Float32Array;
}

/** Rows [from, to) along axis 1 of a [B, S, X] tensor, for batch b. */
export function rows(t: ort.Tensor | undefined, b: number, from: number, to: number): Float32Array {
  if (t === undefined) throw new Error('missing output');
  const [, s, x] = t.dims as [number, number, number];
  return (t.data as Float32Array).slice((b * s + from) * x, (b * s + to) * x);
}

export { maxAbsDiff } from './helpers/compare';

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/** Index of the largest value in each row of a flat [rows × cols] array. */
export function argmaxRows(values: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < values.length / cols; r++) {
    let best = 0;
    for (let j = 1; j < cols; j++)
      if ((values[r * cols + j] as number) > (values[r * cols + best] as number)) best = j;
    out.push(best);
  }
  return out;
}
