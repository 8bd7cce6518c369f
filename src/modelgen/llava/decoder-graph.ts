// Owns the `decoder_model_merged` graph of the transformers.js LLaVA layout (LLaMA / Qwen2 with a KV cache) and its
// layer-range shards. The attention mask and RoPE tables live in decoder-inputs.ts. No files written here.
import { GraphBuilder, type InitializerHook } from '../onnx/graph-builder';
import { decoderMask, ropeTables, type RopeTables } from './decoder-inputs';
import { linear, linearEmitter, type GraphDtype, type LinearEmitter } from './linear';
import { rmsNorm, silu } from './nn';
import type { LlavaHfConfig, WeightMap } from './types';
import { llavaDims, type LlavaDims } from './weight-spec';

/** Input name of a shard that continues from another shard's hidden states. */
export const DECODER_HIDDEN_INPUT = 'hidden_states';
/** Output name of a shard that hands its hidden states to the next shard. */
export const DECODER_HIDDEN_OUTPUT = 'hidden_states_out';

export interface DecoderGraphOptions {
  /** Sees each initializer as it is added (the converter's streaming writer). */
  onInitializer?: InitializerHook | undefined;
  /** Default 'fp32'. 'q4'/'q8' quantise every projection and lm_head; norms stay fp32. */
  dtype?: GraphDtype;
  /** Layers [start, end) to include; default all. present/past names keep the global layer index. */
  layers?: [number, number];
  /** 'inputs_embeds' (default; the first shard) or 'hidden_states' (a later shard). */
  input?: 'inputs_embeds' | 'hidden_states';
  /** 'logits' (default; final norm + lm_head) or 'hidden_states' (output `hidden_states_out`, for a next shard). */
  output?: 'logits' | 'hidden_states';
  /**
   * Declare the int64 scalar input `num_logits_to_keep` (logits only for the last N positions; 0 = all). Default true
   * when the output is logits. transformers.js feeds it whenever the graph declares it (1 while generating).
   */
  numLogitsToKeep?: boolean;
}

/** Names of the cache tensors of global layer i, as transformers.js expects them. */
export function cacheNames(i: number): {
  pastKey: string;
  pastValue: string;
  presentKey: string;
  presentValue: string;
} {
  return {
    pastKey: `past_key_values.${i}.key`,
    pastValue: `past_key_values.${i}.value`,
    presentKey: `present.${i}.key`,
    presentValue: `present.${i}.value`,
  };
}

/**
 * Builds the decoder (by default the whole `decoder_model_merged`):
 * - inputs: inputs_embeds float32 [batch_size, sequence_length, D] (or `hidden_states` for a later shard),
 *   attention_mask int64 [batch_size, total_sequence_length], position_ids int64 [batch_size, sequence_length],
 *   past_key_values.{i}.key/value float32 ['batch_size', kv_heads, 'past_sequence_length', head_dim] (numeric heads
 *   and head_dim: transformers.js builds its empty first cache from these), optional num_logits_to_keep int64 [];
 * - outputs: logits float32 [batch_size, sequence_length (or kept), vocab] (or `hidden_states_out`),
 *   present.{i}.key/value [batch_size, kv_heads, total_sequence_length, head_dim].
 * Causal + padding mask from attention_mask (left padding works), rotate-half RoPE gathered by position_ids from
 * precomputed tables (positions must stay below max_position_embeddings), GQA without copying the cache, SiLU-gated MLP. An empty past (past_sequence_length 0) is a prefill.
 * Throws Error on a missing weight or a bad layer range.
 */
export function buildDecoder(
  config: LlavaHfConfig,
  weights: WeightMap,
  options: DecoderGraphOptions = {},
): GraphBuilder {
  const d = llavaDims(config);
  const [start, end] = options.layers ?? [0, d.textLayers];
  if (!(
    Number.isInteger(start) &&
    Number.isInteger(end) &&
    0 <= start &&
    start <= end &&
    end <= d.textLayers
  )) {
    throw new Error(`bad decoder layer range [${start}, ${end}) for ${d.textLayers} layers`);
  }
  const toLogits = (options.output ?? 'logits') === 'logits';
  const g = new GraphBuilder('decoder_model_merged', { onInitializer: options.onInitializer });
  const e = linearEmitter(g, weights, options.dtype ?? 'fp32');

  const inputName = options.input === 'hidden_states' ? DECODER_HIDDEN_INPUT : 'inputs_embeds';
  let x = g.input(inputName, 'float32', ['batch_size', 'sequence_length', d.textHidden]);
  const mask = g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positions = g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const pastDims = ['batch_size', d.kvHeads, 'past_sequence_length', d.headDim];
  for (let i = start; i < end; i++) {
    const n = cacheNames(i);
    g.input(n.pastKey, 'float32', pastDims);
    g.input(n.pastValue, 'float32', pastDims);
  }
  const keepInput =
    toLogits && (options.numLogitsToKeep ?? true) ? g.input('num_logits_to_keep', 'int64', []) : undefined;

  const bias = g.scope('mask', () => decoderMask(g, x, mask));
  const rope = g.scope('rotary_emb', () =>
    ropeTables(
      g,
      positions,
      d.headDim,
      config.text_config.rope_theta,
      config.text_config.max_position_embeddings,
    ),
  );
  for (let i = start; i < end; i++) {
    x = g.scope(`layers.${i}`, () => decoderLayer(e, config, d, x, i, bias, rope));
  }

  const presentDims = ['batch_size', d.kvHeads, 'total_sequence_length', d.headDim];
  for (let i = start; i < end; i++) {
    const n = cacheNames(i);
    g.output(n.presentKey, 'float32', presentDims);
    g.output(n.presentValue, 'float32', presentDims);
  }
  if (!toLogits) {
    g.output(DECODER_HIDDEN_OUTPUT, 'float32', ['batch_size', 'sequence_length', d.textHidden], x);
    return g;
  }
  if (keepInput !== undefined) {
    // Norm and lm_head are per position, so slicing first is exact and skips work for dropped positions.
    const startAt = g.op('Neg', [g.op('Unsqueeze', [keepInput, g.constInt64([0])])]);
    x = g.op('Slice', [x, startAt, g.constInt64([Number.MAX_SAFE_INTEGER]), g.constInt64([1])]);
  }
  const normed = g.scope('norm', () =>
    rmsNorm(g, weights, x, 'language_model.model.norm', config.text_config.rms_norm_eps),
  );
  const tied = config.text_config.tie_word_embeddings && !weights.has('language_model.lm_head.weight');
  const logits = g.scope('lm_head', () =>
    linear(
      e,
      normed,
      'language_model.lm_head',
      tied ? { weightName: 'language_model.model.embed_tokens.weight' } : {},
    ),
  );
  g.output(
    'logits',
    'float32',
    ['batch_size', keepInput === undefined ? 'sequence_length' : 'logits_length', d.vocab],
    logits,
  );
  return g;
}

function decoderLayer(
  e: LinearEmitter,
  config: LlavaHfConfig,
  d: LlavaDims,
  x: string,
  layer: number,
  bias: string,
  rope: RopeTables,
): string {
  const { g, weights } = e;
  const p = `language_model.model.layers.${layer}`;
  const eps = config.text_config.rms_norm_eps;
  const qkvBias = config.text_config.model_type === 'qwen2';
  const names = cacheNames(layer);
  const rep = d.heads / d.kvHeads;
  const hd = d.headDim;

  const h = g.scope('input_layernorm', () => rmsNorm(g, weights, x, `${p}.input_layernorm`, eps));
  const attn = g.scope('self_attn', () => {
    const q = linear(e, h, `${p}.self_attn.q_proj`, { bias: qkvBias });
    const k = linear(e, h, `${p}.self_attn.k_proj`, { bias: qkvBias });
    const v = linear(e, h, `${p}.self_attn.v_proj`, { bias: qkvBias });
    // Queries grouped by the kv head they share: [B, KVH, rep, S, hd]; keys/values stay [B, KVH, T, hd].
    const q5 = g.op('Transpose', [g.op('Reshape', [q, g.constInt64([0, 0, d.kvHeads, rep, hd])])], {
      perm: [0, 2, 3, 1, 4],
    });
    const kvHeads = (t: string): string =>
      g.op('Transpose', [g.op('Reshape', [t, g.constInt64([0, 0, d.kvHeads, hd])])], { perm: [0, 2, 1, 3] });
    const qRot = applyRope(g, q5, rope.cos5, rope.sin5, hd);
    const kRot = applyRope(g, kvHeads(k), rope.cos4, rope.sin4, hd);
    const presentK = g.op('Concat', [names.pastKey, kRot], { axis: 2 }, { outputs: [names.presentKey] });
    const presentV = g.op(
      'Concat',
      [names.pastValue, kvHeads(v)],
      { axis: 2 },
      { outputs: [names.presentValue] },
    );
    const kT = g.op('Unsqueeze', [g.op('Transpose', [presentK], { perm: [0, 1, 3, 2] }), g.constInt64([2])]);
    const v5 = g.op('Unsqueeze', [presentV, g.constInt64([2])]);
    const scaled = g.op('Mul', [qRot, g.constFloat([1 / Math.sqrt(hd)], [])]);
    const scores = g.op('Add', [g.op('MatMul', [scaled, kT]), bias]);
    const ctx = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v5]);
    const merged = g.op('Reshape', [
      g.op('Transpose', [ctx], { perm: [0, 3, 1, 2, 4] }),
      g.constInt64([0, 0, d.heads * hd]),
    ]);
    return linear(e, merged, `${p}.self_attn.o_proj`);
  });
  const x1 = g.op('Add', [x, attn]);
  const h2 = g.scope('post_attention_layernorm', () =>
    rmsNorm(g, weights, x1, `${p}.post_attention_layernorm`, eps),
  );
  const mlp = g.scope('mlp', () => {
    const gate = silu(g, linear(e, h2, `${p}.mlp.gate_proj`));
    const up = linear(e, h2, `${p}.mlp.up_proj`);
    return linear(e, g.op('Mul', [gate, up]), `${p}.mlp.down_proj`);
  });
  return g.op('Add', [x1, mlp]);
}

/** x·cos + rotate_half(x)·sin, rotate_half(x) = concat(-x[..., hd/2:], x[..., :hd/2]). */
function applyRope(g: GraphBuilder, x: string, cos: string, sin: string, hd: number): string {
  const half = hd / 2;
  const [x1, x2] = g.node('Split', [x, g.constInt64([half, half])], { axis: -1 }, { outputs: 2 }) as [
    string,
    string,
  ];
  const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
  return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
}
