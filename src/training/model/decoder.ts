// Owns the LLaMA decoder of the micro LLaVA in TF.js (RMSNorm, rotate-half RoPE, grouped-query attention, SiLU
// MLP), with an equivalent path that runs a prefix shared by the whole batch (the system prompt) only once.

import * as tf from '@tensorflow/tfjs-core';
import type { Dims } from './config';
import { LM, type Params } from './params';
import { heads, linear, mergeHeads, rmsNorm, silu } from './layers';

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

/** Additive mask for `q` new positions after `past` visible ones: all past rows, and causal among the new ones. */
function prefixCausalMask(q: number, past: number): tf.Tensor {
  const k = past + q;
  const m = new Float32Array(q * k);
  for (let i = 0; i < q; i++) for (let j = past + i + 1; j < k; j++) m[i * k + j] = -1e9;
  return tf.tensor2d(m, [q, k]);
}

/**
 * Grouped-query attention: query head j reads kv head floor(j / rep), as HF's repeat_kv.
 * q [B, H, Tq, hd], k/v [B, KV, Tk, hd], mask [Tq, Tk] → [B, H, Tq, hd].
 */
function attend(d: Dims, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  const [B, , Tq] = q.shape as [number, number, number];
  const Tk = k.shape[2]!;
  const rep = d.heads / d.kvHeads;
  const qg = tf.reshape(q, [B, d.kvHeads, rep * Tq, d.headDim]);
  const scores = tf.reshape(tf.mul(tf.matMul(qg, k, false, true), 1 / Math.sqrt(d.headDim)), [
    B,
    d.kvHeads,
    rep,
    Tq,
    Tk,
  ]);
  const probs = tf.reshape(tf.softmax(tf.add(scores, mask)), [B, d.kvHeads, rep * Tq, Tk]);
  return tf.reshape(tf.matMul(probs, v), [B, d.heads, Tq, d.headDim]);
}

interface Rope {
  cos: tf.Tensor;
  sin: tf.Tensor;
}

type Getter = (n: string) => tf.Tensor;

function qkv(
  g: Getter,
  d: Dims,
  x: tf.Tensor,
  rot: Rope,
): { h: tf.Tensor; q: tf.Tensor; k: tf.Tensor; v: tf.Tensor } {
  const h = rmsNorm(x, g('input_layernorm.weight'), d.rmsEps);
  return {
    h,
    q: rope(heads(linear(h, g('self_attn.q_proj.weight')), d.heads, d.headDim), rot.cos, rot.sin),
    k: rope(heads(linear(h, g('self_attn.k_proj.weight')), d.kvHeads, d.headDim), rot.cos, rot.sin),
    v: heads(linear(h, g('self_attn.v_proj.weight')), d.kvHeads, d.headDim),
  };
}

/** The rest of a layer after attention: output projection, residual, post-norm SwiGLU MLP, residual. */
function finishLayer(g: Getter, d: Dims, x: tf.Tensor, ctx: tf.Tensor): tf.Tensor {
  const x2 = tf.add(x, linear(mergeHeads(ctx), g('self_attn.o_proj.weight')));
  const h2 = rmsNorm(x2, g('post_attention_layernorm.weight'), d.rmsEps);
  const mlp = tf.mul(silu(linear(h2, g('mlp.gate_proj.weight'))), linear(h2, g('mlp.up_proj.weight')));
  return tf.add(x2, linear(mlp, g('mlp.down_proj.weight')));
}

function layerGetter(p: Params, i: number): Getter {
  return (n) => p.get(`${LM}.layers.${i}.${n}`);
}

function sliceRope(rot: Rope, start: number, length: number): Rope {
  const hd = rot.cos.shape[1]!;
  return {
    cos: tf.slice(rot.cos, [start, 0], [length, hd]),
    sin: tf.slice(rot.sin, [start, 0], [length, hd]),
  };
}

function toLogits(p: Params, d: Dims, x: tf.Tensor): tf.Tensor {
  return linear(rmsNorm(x, p.get(`${LM}.norm.weight`), d.rmsEps), p.get('language_model.lm_head.weight'));
}

/** Decoder logits for input embeddings [B, T, hidden] at positions 0..T-1 (no padding on the left). */
export function decode(p: Params, d: Dims, embeds: tf.Tensor): tf.Tensor {
  const T = embeds.shape[1]!;
  const rot = ropeTables(d, T);
  const mask = prefixCausalMask(T, 0);
  let x = embeds;
  for (let i = 0; i < d.layers; i++) {
    const g = layerGetter(p, i);
    const { q, k, v } = qkv(g, d, x, rot);
    x = finishLayer(g, d, x, attend(d, q, k, v, mask));
  }
  return toLogits(p, d, x);
}

/**
 * The same logits as `decode` on [prefix ‖ suffix_b] for every b, computing the shared prefix [1, P, hidden] once:
 * its keys and values are broadcast to the batch's suffixes [B, S, hidden]. Returns logits for the suffix rows only
 * ([B, S, vocab]); the prefix rows never carry a loss.
 */
export function decodeShared(p: Params, d: Dims, prefix: tf.Tensor, suffix: tf.Tensor): tf.Tensor {
  const P = prefix.shape[1]!;
  const [B, S] = suffix.shape as [number, number];
  const rot = ropeTables(d, P + S);
  const rotP = sliceRope(rot, 0, P);
  const rotS = sliceRope(rot, P, S);
  const maskP = prefixCausalMask(P, 0);
  const maskS = prefixCausalMask(S, P);
  let xp = prefix;
  let xs = suffix;
  for (let i = 0; i < d.layers; i++) {
    const g = layerGetter(p, i);
    const a = qkv(g, d, xp, rotP);
    const b = qkv(g, d, xs, rotS);
    const kAll = tf.concat([tf.tile(a.k, [B, 1, 1, 1]), b.k], 2);
    const vAll = tf.concat([tf.tile(a.v, [B, 1, 1, 1]), b.v], 2);
    const ctxS = attend(d, b.q, kAll, vAll, maskS);
    // The last layer's prefix rows feed nothing: skip them.
    if (i + 1 < d.layers) xp = finishLayer(g, d, xp, attend(d, a.q, a.k, a.v, maskP));
    xs = finishLayer(g, d, xs, ctxS);
  }
  return toLogits(p, d, xs);
}
