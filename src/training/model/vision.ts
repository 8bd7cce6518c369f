// Owns the vision side of the micro LLaVA in TF.js, op for op as the ONNX graph builder exports it: CLIP tower
// (patch embedding, CLS + positions, pre-LN, pre-norm layers with QuickGELU), the selected layer without its CLS row,
// and the mlp2x_gelu projector (erf GELU).

import * as tf from '@tensorflow/tfjs-core';
import type { Dims } from './config';
import { VT, type Params } from './params';
import { geluErf, heads, layerNorm, linear, matMul2d, mergeHeads, quickGelu } from './layers';

function visionLayer(p: Params, i: number, h: tf.Tensor, d: Dims): tf.Tensor {
  const pre = `${VT}.encoder.layers.${i}`;
  const g = (n: string) => p.get(`${pre}.${n}`);
  const hd = d.vHidden / d.vHeads;
  const x1 = layerNorm(h, g('layer_norm1.weight'), g('layer_norm1.bias'), d.lnEps);
  const q = heads(linear(x1, g('self_attn.q_proj.weight'), g('self_attn.q_proj.bias')), d.vHeads, hd);
  const k = heads(linear(x1, g('self_attn.k_proj.weight'), g('self_attn.k_proj.bias')), d.vHeads, hd);
  const v = heads(linear(x1, g('self_attn.v_proj.weight'), g('self_attn.v_proj.bias')), d.vHeads, hd);
  const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)));
  const o = linear(
    mergeHeads(tf.matMul(att, v)),
    g('self_attn.out_proj.weight'),
    g('self_attn.out_proj.bias'),
  );
  const h2 = tf.add(h, o);
  const x2 = layerNorm(h2, g('layer_norm2.weight'), g('layer_norm2.bias'), d.lnEps);
  const up = quickGelu(linear(x2, g('mlp.fc1.weight'), g('mlp.fc1.bias')));
  return tf.add(h2, linear(up, g('mlp.fc2.weight'), g('mlp.fc2.bias')));
}

/**
 * The selected CLIP hidden state without its CLS row: [B, patches, vHidden].
 * `pixels` is [B, 3, S, S], normalised as the image processor does.
 */
export function visionFeatures(p: Params, d: Dims, pixels: tf.Tensor): tf.Tensor {
  const B = pixels.shape[0]!;
  const { grid: g, patch: s, vHidden: hv } = d;
  const patches = tf.reshape(tf.transpose(tf.reshape(pixels, [B, 3, g, s, g, s]), [0, 2, 4, 1, 3, 5]), [
    B * g * g,
    3 * s * s,
  ]);
  const w = tf.reshape(p.get(`${VT}.embeddings.patch_embedding.weight`), [hv, 3 * s * s]);
  const emb = tf.reshape(matMul2d(patches, tf.transpose(w)), [B, g * g, hv]);
  const cls = tf.tile(tf.reshape(p.get(`${VT}.embeddings.class_embedding`), [1, 1, hv]), [B, 1, 1]);
  let h: tf.Tensor = tf.add(tf.concat([cls, emb], 1), p.get(`${VT}.embeddings.position_embedding.weight`));
  h = layerNorm(h, p.get(`${VT}.pre_layrnorm.weight`), p.get(`${VT}.pre_layrnorm.bias`), d.lnEps);
  for (let i = 0; i < d.vUsedLayers; i++) h = visionLayer(p, i, h, d);
  return tf.slice(h, [0, 1, 0], [B, g * g, hv]);
}

/** mlp2x_gelu: linear_1 → erf GELU → linear_2. [B, N, vHidden] → [B, N, hidden]. */
export function project(p: Params, feats: tf.Tensor): tf.Tensor {
  const y = geluErf(
    linear(
      feats,
      p.get('multi_modal_projector.linear_1.weight'),
      p.get('multi_modal_projector.linear_1.bias'),
    ),
  );
  return linear(
    y,
    p.get('multi_modal_projector.linear_2.weight'),
    p.get('multi_modal_projector.linear_2.bias'),
  );
}
