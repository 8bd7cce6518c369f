// Owns one optimiser step of any stage, and the loss of a batch of token sequences, free of Node APIs so that the
// stage loop (trainer.ts) and the browser's training worker (workers/train.worker.ts) run the same code.

import * as tf from '@tensorflow/tfjs-core';
import type { AdamW } from '../model/optimizer';
import type { Params } from '../model/params';
import type { Dims } from '../model/config';
import { disposeBatch, makeBatch, type PixelStore } from '../model/batches';
import { llavaLogits, maskedCrossEntropy } from '../model/forward';
import type { TokenSequence } from '../model/sequences';

/** The loss of one step (built inside a gradient scope), how many target tokens it covered, and its cleanup. */
export interface LossItem {
  loss: () => tf.Scalar;
  tokens: number;
  dispose: () => void;
}

/** Builds the loss of step `step` (inside a tidy/gradient scope) and says how many target tokens it covered. */
export type LossFn = (step: number) => LossItem;

/**
 * Runs one step: gradients of `item`'s loss for `trainable`, one AdamW update at `lr`, and disposes the item.
 * Returns the loss before the update.
 */
export function trainStep(
  params: Params,
  trainable: tf.Variable[],
  opt: AdamW,
  item: LossItem,
  lr: number,
): number {
  const { value, grads } = tf.variableGrads(item.loss, trainable);
  const loss = value.dataSync()[0]!;
  value.dispose();
  // Parameters off the loss path (the vision layers after the selected one) get no gradient and stay as they are.
  const named = params.byName(grads);
  opt.apply(params.vars, named, lr);
  tf.dispose(Object.values(grads).filter((g) => g));
  item.dispose();
  return loss;
}

/** Masked next-token loss of a batch of sequences (the shared system prompt runs once; see makeBatch). */
export function sequenceLoss(
  params: Params,
  d: Dims,
  seqs: readonly TokenSequence[],
  padId: number,
  imageFeatures: number,
  pixels: PixelStore | null,
): LossItem {
  const batch = makeBatch(seqs, padId, imageFeatures, pixels, true);
  return {
    loss: () => maskedCrossEntropy(llavaLogits(params, d, batch), batch.targets, batch.mask, d.vocab),
    tokens: batch.tokens,
    dispose: () => disposeBatch(batch),
  };
}
