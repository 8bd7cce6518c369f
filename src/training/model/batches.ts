// Owns assembling training batches: length-bucketed, right-padded token tensors, next-token targets, answer masks,
// image placement and pixel values, drawn deterministically from (seed, step). No model code.

import * as tf from '@tensorflow/tfjs-core';
import { Rng, deriveSeed } from '../data/rng';
import type { TokenSequence } from './sequences';
import type { TokenBatch } from './forward';

/** Pixel values of the data set's images, already preprocessed exactly as the engine does ([3, S, S] each). */
export interface PixelStore {
  size: number;
  get(image: string): Float32Array;
}

export interface TrainBatch extends TokenBatch {
  targets: tf.Tensor;
  mask: tf.Tensor;
  tokens: number;
}

/**
 * The sequences of step `step`: a pool of `poolFactor` batches is drawn from an epoch-free seeded stream, sorted by
 * length and cut into batches, so padding stays small; which batch of the pool is used depends on the step.
 */
export function batchIndices(
  count: number,
  batchSize: number,
  seed: number,
  step: number,
  lengths: ArrayLike<number>,
  poolFactor = 8,
): number[] {
  const pool = Math.floor(step / poolFactor);
  const rng = new Rng(deriveSeed(seed, 'pool', pool));
  const picks: number[] = [];
  for (let i = 0; i < batchSize * poolFactor; i++) picks.push(rng.int(count));
  picks.sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const order = rng.shuffle(Array.from({ length: poolFactor }, (_, i) => i));
  const k = order[step % poolFactor]!;
  return picks.slice(k * batchSize, (k + 1) * batchSize);
}

/**
 * The longest prefix every sequence shares that holds no image row and no answer token (so its logits carry no
 * loss), leaving at least one row per sequence after it.
 */
export function sharedPrefixLength(seqs: readonly TokenSequence[]): number {
  const first = seqs[0]!;
  let P = Math.min(...seqs.map((s) => s.ids.length - 1));
  for (const s of seqs) {
    if (s.imageStart >= 0) P = Math.min(P, s.imageStart);
    let i = 0;
    while (i < P && s.ids[i] === first.ids[i]) i++;
    P = i;
  }
  // Row P-1 predicts token P: that must not be a trained answer token.
  while (P > 0 && seqs.some((s) => s.answer[P])) P--;
  return P;
}

/**
 * Where each sequence's image feature rows go: [B, T, N] one-hot rows putting feature j of sequence b at position
 * `starts[b] + j` (the forward pass multiplies the features in with it).
 */
export function imagePlacement(starts: readonly number[], T: number, N: number): tf.Tensor3D {
  const placement = new Float32Array(starts.length * T * N);
  starts.forEach((start, b) => {
    for (let j = 0; j < N; j++) placement[(b * T + start + j) * N + j] = 1;
  });
  return tf.tensor3d(placement, [starts.length, T, N]);
}

/**
 * Builds the tensors of one batch (caller disposes them). With `sharePrefix`, the common prefix goes in `prefixIds`
 * and every other tensor covers only the rows after it.
 */
export function makeBatch(
  seqs: readonly TokenSequence[],
  padId: number,
  imageFeatures: number,
  pixels: PixelStore | null,
  sharePrefix = false,
): TrainBatch {
  const B = seqs.length;
  const P = sharePrefix ? sharedPrefixLength(seqs) : 0;
  const T = Math.max(...seqs.map((s) => s.ids.length)) - P;
  const ids = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  const withImage = pixels !== null && seqs.every((s) => s.image !== null);
  const S = pixels?.size ?? 0;
  const pix = withImage ? new Float32Array(B * 3 * S * S) : null;
  let tokens = 0;
  seqs.forEach((s, b) => {
    ids.set(s.ids.subarray(P), b * T);
    for (let t = 0; P + t + 1 < s.ids.length; t++) {
      targets[b * T + t] = s.ids[P + t + 1]!;
      if (s.answer[P + t + 1]) {
        mask[b * T + t] = 1;
        tokens++;
      }
    }
    if (pix && s.image !== null) pix.set(pixels!.get(s.image), b * 3 * S * S);
  });
  const batch: TrainBatch = {
    ids: tf.tensor2d(ids, [B, T], 'int32'),
    targets: tf.tensor2d(targets, [B, T], 'int32'),
    mask: tf.tensor2d(mask, [B, T]),
    tokens,
  };
  if (P > 0) batch.prefixIds = tf.tensor2d(seqs[0]!.ids.slice(0, P), [1, P], 'int32');
  if (pix) {
    batch.placement = imagePlacement(
      seqs.map((s) => s.imageStart - P),
      T,
      imageFeatures,
    );
    batch.pixels = tf.tensor4d(pix, [B, 3, S, S]);
  }
  return batch;
}

export function disposeBatch(batch: TrainBatch): void {
  tf.dispose([batch.ids, batch.targets, batch.mask]);
  if (batch.prefixIds) batch.prefixIds.dispose();
  if (batch.placement) batch.placement.dispose();
  if (batch.pixels) batch.pixels.dispose();
}
