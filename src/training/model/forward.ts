// Owns the micro LLaVA's whole forward pass in TF.js: one-hot token embeddings (the WASM backend has no gradient
// for gather), image features written over the image tokens, the decoder, and the masked next-token loss.

import * as tf from '@tensorflow/tfjs-core';
import type { Dims } from './config';
import { LM, type Params } from './params';
import { oneHotMatMul } from './layers';
import { project, visionFeatures } from './vision';
import { decode, decodeShared } from './decoder';

export { linear } from './layers';
export { project, visionFeatures } from './vision';

/** Token embeddings as one-hot × table (differentiable on the WASM backend). ids: [B, T] int32. */
export function embedTokens(p: Params, d: Dims, ids: tf.Tensor): tf.Tensor {
  const [B, T] = ids.shape as [number, number];
  const oneHot = tf.oneHot(tf.reshape(ids, [B * T]) as tf.Tensor1D, d.vocab);
  return tf.reshape(oneHotMatMul(oneHot, p.get(`${LM}.embed_tokens.weight`)), [B, T, d.hidden]);
}

/**
 * Overwrites the rows of the image tokens with the image features, in order, as LLaVA does:
 * `placement` is [B, T, N] with a single 1 per image-token row (its feature index), zeros elsewhere.
 */
export function mergeImage(textEmbeds: tf.Tensor, placement: tf.Tensor, features: tf.Tensor): tf.Tensor {
  const isText = tf.sub(1, tf.sum(placement, -1, true));
  return tf.add(tf.mul(textEmbeds, isText), tf.matMul(placement, features));
}

/** A batch of token sequences, optionally with one image each. */
export interface TokenBatch {
  /** [B, T] int32 token ids (image tokens included, right-padded); with `prefixIds`, the part after the prefix. */
  ids: tf.Tensor;
  /** [1, P] int32: a prefix every sequence of the batch starts with, computed once (see decodeShared). */
  prefixIds?: tf.Tensor;
  /** [B, 3, S, S] pixel values; absent for text-only batches. */
  pixels?: tf.Tensor;
  /** [B, T, N] image-feature placement (rows of `ids`); absent for text-only batches. */
  placement?: tf.Tensor;
}

/** Full LLaVA forward: logits [B, T, vocab] for the rows of `batch.ids`. */
export function llavaLogits(p: Params, d: Dims, batch: TokenBatch): tf.Tensor {
  let embeds = embedTokens(p, d, batch.ids);
  if (batch.pixels && batch.placement) {
    const feats = project(p, visionFeatures(p, d, batch.pixels));
    embeds = mergeImage(embeds, batch.placement, feats);
  }
  if (batch.prefixIds) return decodeShared(p, d, embedTokens(p, d, batch.prefixIds), embeds);
  return decode(p, d, embeds);
}

/** Mean cross-entropy of `targets` [B, T] int32 over positions where `mask` [B, T] is 1. */
export function maskedCrossEntropy(
  logits: tf.Tensor,
  targets: tf.Tensor,
  mask: tf.Tensor,
  vocab: number,
): tf.Scalar {
  const logp = tf.logSoftmax(logits);
  const picked = tf.sum(tf.mul(logp, tf.oneHot(targets as tf.Tensor2D, vocab)), -1);
  return tf.div(tf.neg(tf.sum(tf.mul(picked, mask))), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}
