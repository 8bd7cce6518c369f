// Owns stage 0's vision objective, read by linear probes from the patch features LLaVA will use: per-column colour
// and shape (with "empty") from all patches together, and per patch the colour, shape and column of the object that
// covers it. This stands in for CLIP pretraining, which has no equivalent at this scale.

import * as tf from '@tensorflow/tfjs-core';
import { COLORS, SHAPES, SLOTS, type Scene } from '../data/scene';
import { patchOwners } from '../data/render';
import type { Dims } from '../model/config';
import { linear, visionFeatures } from '../model/forward';
import type { Params } from '../model/params';

const COLOR_CLASSES = COLORS.length + 1;
const SHAPE_CLASSES = SHAPES.length + 1;
/** Logits per column: colour (or none) then shape (or none). */
export const SLOT_CLASSES = SLOTS.length * (COLOR_CLASSES + SHAPE_CLASSES);

const SLOT_IDS = SLOTS.length + 1;
const KINDS = COLORS.length * SHAPES.length + 1;
/** Logits per patch: colour, shape, colour-and-shape together, and column of the covering object (each with "none"). */
export const PATCH_CLASSES = COLOR_CLASSES + SHAPE_CLASSES + KINDS + SLOT_IDS;

/**
 * Per patch (row-major) [colour, shape, kind, column] class indices, 0 meaning no object covers the patch. The kind
 * (colour × shape as one class) makes "find the green circle" a single match for the language model's attention.
 */
export function patchLabels(scene: Scene, patch: number): number[] {
  const owners = patchOwners(scene, patch);
  const out: number[] = [];
  for (const k of owners) {
    const o = k >= 0 ? scene.objects[k]! : null;
    const c = o ? COLORS.indexOf(o.color) : -1;
    const sh = o ? SHAPES.indexOf(o.shape) : -1;
    out.push(c + 1, sh + 1, o ? c * SHAPES.length + sh + 1 : 0, o ? SLOTS.indexOf(o.slot) + 1 : 0);
  }
  return out;
}

/** Class indices per column: [colour, shape] × 3, 0 meaning an empty column. */
export function slotLabels(scene: Scene): number[] {
  const out: number[] = [];
  for (const slot of SLOTS) {
    const o = scene.objects.find((x) => x.slot === slot);
    out.push(o ? COLORS.indexOf(o.color) + 1 : 0, o ? SHAPES.indexOf(o.shape) + 1 : 0);
  }
  return out;
}

function probeLogits(p: Params, d: Dims, pixels: tf.Tensor): { color: tf.Tensor; shape: tf.Tensor } {
  const B = pixels.shape[0]!;
  const feats = tf.reshape(visionFeatures(p, d, pixels), [B, -1]);
  const logits = tf.reshape(
    linear(feats, p.get('vision_probe.head.weight'), p.get('vision_probe.head.bias')),
    [B, SLOTS.length, COLOR_CLASSES + SHAPE_CLASSES],
  );
  const [color, shape] = tf.split(logits, [COLOR_CLASSES, SHAPE_CLASSES], -1) as [tf.Tensor, tf.Tensor];
  return { color, shape };
}

function ce(logits: tf.Tensor, labels: tf.Tensor, n: number): tf.Tensor {
  return tf.neg(
    tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor2D, n)), -1)),
  );
}

/**
 * Stage-0 loss: cross-entropy of the column probe (colour, shape) plus that of the patch probe (colour, shape,
 * column). `labels` [B, 6] and `dense` [B, patches × 3] are int32.
 */
export function probeLoss(
  p: Params,
  d: Dims,
  pixels: tf.Tensor,
  labels: tf.Tensor,
  dense: tf.Tensor,
): tf.Scalar {
  const B = pixels.shape[0]!;
  const feats = visionFeatures(p, d, pixels);
  const slots = tf.reshape(
    linear(tf.reshape(feats, [B, -1]), p.get('vision_probe.head.weight'), p.get('vision_probe.head.bias')),
    [B, SLOTS.length, COLOR_CLASSES + SHAPE_CLASSES],
  );
  const [color, shape] = tf.split(slots, [COLOR_CLASSES, SHAPE_CLASSES], -1) as [tf.Tensor, tf.Tensor];
  const [lc, ls] = tf.split(tf.reshape(labels, [B, SLOTS.length, 2]), 2, -1) as [tf.Tensor, tf.Tensor];
  const columnLoss = tf.add(
    ce(color, tf.reshape(lc, [B, SLOTS.length]), COLOR_CLASSES),
    ce(shape, tf.reshape(ls, [B, SLOTS.length]), SHAPE_CLASSES),
  );
  const N = feats.shape[1]!;
  const perPatch = linear(feats, p.get('vision_probe.dense.weight'), p.get('vision_probe.dense.bias'));
  const sizes = [COLOR_CLASSES, SHAPE_CLASSES, KINDS, SLOT_IDS];
  const logits = tf.split(perPatch, sizes, -1);
  const targets = tf.split(tf.reshape(dense, [B, N, sizes.length]), sizes.length, -1);
  const patchLoss = tf.addN(sizes.map((n, i) => ce(logits[i]!, tf.reshape(targets[i]!, [B, N]), n)));
  return tf.add(columnLoss, patchLoss) as tf.Scalar;
}

/** Fraction of columns whose colour and shape are both right. */
export function probeAccuracy(p: Params, d: Dims, pixels: tf.Tensor, labels: Int32Array): number {
  return tf.tidy(() => {
    const { color, shape } = probeLogits(p, d, pixels);
    const c = tf.argMax(color, -1).dataSync();
    const s = tf.argMax(shape, -1).dataSync();
    let right = 0;
    for (let i = 0; i < c.length; i++) if (c[i] === labels[i * 2] && s[i] === labels[i * 2 + 1]) right++;
    return right / c.length;
  });
}
