// Owns stage 0's vision objective: per-column colour and shape classes (with "empty") read by a linear probe from
// the patch features LLaVA will use. This stands in for CLIP pretraining, which has no equivalent at this scale.

import * as tf from '@tensorflow/tfjs-core';
import { COLORS, SHAPES, SLOTS, type Scene } from '../data/scene';
import type { Dims } from '../model/config';
import { linear, visionFeatures } from '../model/forward';
import type { Params } from '../model/params';

const COLOR_CLASSES = COLORS.length + 1;
const SHAPE_CLASSES = SHAPES.length + 1;
/** Logits per column: colour (or none) then shape (or none). */
export const SLOT_CLASSES = SLOTS.length * (COLOR_CLASSES + SHAPE_CLASSES);

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

/** Mean cross-entropy over columns of the colour and shape classes; labels [B, 6] int32. */
export function probeLoss(p: Params, d: Dims, pixels: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const { color, shape } = probeLogits(p, d, pixels);
  const [lc, ls] = tf.split(tf.reshape(labels, [-1, SLOTS.length, 2]), 2, -1) as [tf.Tensor, tf.Tensor];
  const ce = (logits: tf.Tensor, lab: tf.Tensor, n: number) =>
    tf.neg(
      tf.mean(
        tf.sum(
          tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.reshape(lab, [-1, SLOTS.length]) as tf.Tensor2D, n)),
          -1,
        ),
      ),
    );
  return tf.add(ce(color, lc, COLOR_CLASSES), ce(shape, ls, SHAPE_CLASSES)) as tf.Scalar;
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
