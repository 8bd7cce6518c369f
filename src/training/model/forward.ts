// Owns the micro LLaVA's forward pass in TF.js, op for op the llava-hf numerics the ONNX graph builder exports: CLIP
// tower (pre-LN, QuickGELU, penultimate layer, CLS dropped), mlp2x_gelu projector (erf GELU), LLaMA decoder (RMSNorm,
// rotate-half RoPE, GQA, SiLU MLP). Embeddings are one-hot × matrix, because the WASM backend has no gradient for
// gather. No data loading or optimisation here.

import * as tf from '@tensorflow/tfjs-core';
import type { Dims } from './config';
import { LM, VT, type Params } from './params';

/**
 * 2-D matmul whose backward pass also runs as plain (non-transposed) matmuls: the WASM backend's matmul with a
 * transposed operand is about ten times slower than an explicit transpose followed by a plain one.
 */
const matMul2d = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** one-hot × table whose backward pass skips the (useless) gradient for the one-hot input. */
const oneHotMatMul = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa] = saved as [tf.Tensor2D];
      return [tf.zerosLike(sa), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** x[..., in] · Wᵀ (+ b), with W in PyTorch layout [out, in]. */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.rank - 1]!;
  const outDim = w.shape[0]!;
  const flat = tf.reshape(x, [-1, inDim]);
  let y: tf.Tensor = matMul2d(flat, tf.transpose(w));
  if (b) y = tf.add(y, b);
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

function layerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), w), b);
}

function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
}

function quickGelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
}

function geluErf(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** [B, T, H·hd] → [B, H, T, hd]. */
function heads(x: tf.Tensor, n: number, hd: number): tf.Tensor {
  const [B, T] = x.shape as [number, number];
  return tf.transpose(tf.reshape(x, [B, T, n, hd]), [0, 2, 1, 3]);
}

/** [B, H, T, hd] → [B, T, H·hd]. */
function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [B, H, T, hd] = x.shape as [number, number, number, number];
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * hd]);
}

function visionLayer(p: Params, i: number, h: tf.Tensor, d: Dims): tf.Tensor {
  const pre = `${VT}.encoder.layers.${i}`;
  const g = (n: string) => p.get(`${pre}.${n}`);
  const hd = d.vHidden / d.vHeads;
  const x1 = layerNorm(h, g('layer_norm1.weight'), g('layer_norm1.bias'), d.lnEps);
  const q = heads(linear(x1, g('self_attn.q_proj.weight'), g('self_attn.q_proj.bias')), d.vHeads, hd);
  const k = heads(linear(x1, g('self_attn.k_proj.weight'), g('self_attn.k_proj.bias')), d.vHeads, hd);
  const v = heads(linear(x1, g('self_attn.v_proj.weight'), g('self_attn.v_proj.bias')), d.vHeads, hd);
  const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)));
  const o = linear(mergeHeads(tf.matMul(att, v)), g('self_attn.out_proj.weight'), g('self_attn.out_proj.bias'));
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
  const y = geluErf(linear(feats, p.get('multi_modal_projector.linear_1.weight'), p.get('multi_modal_projector.linear_1.bias')));
  return linear(y, p.get('multi_modal_projector.linear_2.weight'), p.get('multi_modal_projector.linear_2.bias'));
}

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

/** cos/sin tables for positions 0..T-1, [T, headDim], HF's rotate-half layout. */
export function ropeTables(d: Dims, T: number): { cos: tf.Tensor; sin: tf.Tensor } {
  const half = d.headDim / 2;
  const cos = new Float32Array(T * d.headDim);
  const sin = new Float32Array(T * d.headDim);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const invFreq = 1 / Math.pow(d.ropeTheta, (2 * i) / d.headDim);
      const a = t * invFreq;
      cos[t * d.headDim + i] = cos[t * d.headDim + i + half] = Math.cos(a);
      sin[t * d.headDim + i] = sin[t * d.headDim + i + half] = Math.sin(a);
    }
  }
  return { cos: tf.tensor2d(cos, [T, d.headDim]), sin: tf.tensor2d(sin, [T, d.headDim]) };
}

function rope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const hd = x.shape[x.rank - 1]!;
  const [x1, x2] = tf.split(x, [hd / 2, hd / 2], -1) as [tf.Tensor, tf.Tensor];
  const rotated = tf.concat([tf.neg(x2), x1], -1);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
}

function causalMask(T: number): tf.Tensor {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return tf.tensor2d(m, [T, T]);
}

function decoderLayer(p: Params, i: number, x: tf.Tensor, d: Dims, cos: tf.Tensor, sin: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  const pre = `${LM}.layers.${i}`;
  const g = (n: string) => p.get(`${pre}.${n}`);
  const [B, T] = x.shape as [number, number];
  const rep = d.heads / d.kvHeads;
  const h = rmsNorm(x, g('input_layernorm.weight'), d.rmsEps);
  const q = rope(heads(linear(h, g('self_attn.q_proj.weight')), d.heads, d.headDim), cos, sin);
  const k = rope(heads(linear(h, g('self_attn.k_proj.weight')), d.kvHeads, d.headDim), cos, sin);
  const v = heads(linear(h, g('self_attn.v_proj.weight')), d.kvHeads, d.headDim);
  // Grouped-query attention: query head j uses kv head floor(j / rep), as HF's repeat_kv.
  const qg = tf.reshape(q, [B, d.kvHeads, rep * T, d.headDim]);
  const scores = tf.reshape(tf.mul(tf.matMul(qg, k, false, true), 1 / Math.sqrt(d.headDim)), [B, d.kvHeads, rep, T, T]);
  const probs = tf.reshape(tf.softmax(tf.add(scores, mask)), [B, d.kvHeads, rep * T, T]);
  const ctx = tf.reshape(tf.matMul(probs, v), [B, d.heads, T, d.headDim]);
  const x2 = tf.add(x, linear(mergeHeads(ctx), g('self_attn.o_proj.weight')));
  const h2 = rmsNorm(x2, g('post_attention_layernorm.weight'), d.rmsEps);
  const mlp = tf.mul(silu(linear(h2, g('mlp.gate_proj.weight'))), linear(h2, g('mlp.up_proj.weight')));
  return tf.add(x2, linear(mlp, g('mlp.down_proj.weight')));
}

/** Decoder logits for input embeddings [B, T, hidden] at positions 0..T-1 (no padding on the left). */
export function decode(p: Params, d: Dims, embeds: tf.Tensor): tf.Tensor {
  const T = embeds.shape[1]!;
  const { cos, sin } = ropeTables(d, T);
  const mask = causalMask(T);
  let x = embeds;
  for (let i = 0; i < d.layers; i++) x = decoderLayer(p, i, x, d, cos, sin, mask);
  x = rmsNorm(x, p.get(`${LM}.norm.weight`), d.rmsEps);
  return linear(x, p.get('language_model.lm_head.weight'));
}

/** A batch of token sequences, optionally with one image each. */
export interface TokenBatch {
  /** [B, T] int32 token ids (image tokens included, right-padded). */
  ids: tf.Tensor;
  /** [B, 3, S, S] pixel values; absent for text-only batches. */
  pixels?: tf.Tensor;
  /** [B, T, N] image-feature placement; absent for text-only batches. */
  placement?: tf.Tensor;
}

/** Full LLaVA forward: logits [B, T, vocab]. */
export function llavaLogits(p: Params, d: Dims, batch: TokenBatch): tf.Tensor {
  let embeds = embedTokens(p, d, batch.ids);
  if (batch.pixels && batch.placement) {
    const feats = project(p, visionFeatures(p, d, batch.pixels));
    embeds = mergeImage(embeds, batch.placement, feats);
  }
  return decode(p, d, embeds);
}

/** Mean cross-entropy of `targets` [B, T] int32 over positions where `mask` [B, T] is 1. */
export function maskedCrossEntropy(logits: tf.Tensor, targets: tf.Tensor, mask: tf.Tensor, vocab: number): tf.Scalar {
  const logp = tf.logSoftmax(logits);
  const picked = tf.sum(tf.mul(logp, tf.oneHot(targets as tf.Tensor2D, vocab)), -1);
  return tf.div(tf.neg(tf.sum(tf.mul(picked, mask))), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}
