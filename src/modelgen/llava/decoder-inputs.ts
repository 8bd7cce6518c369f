// Owns the per-forward tables every decoder layer shares: the additive causal + padding mask and the RoPE cos/sin
// tables. No layer weights here.
import type { GraphBuilder } from '../onnx/graph-builder';

/** Additive mask value for blocked positions: float32's lowest finite value, as HF uses (finite, so rows that are
 * fully masked — left-padding queries — give a uniform softmax instead of NaN). */
const MASKED = -3.4028234663852886e38;

/**
 * Builds the additive attention bias [B, 1, 1, S, T] (0 = may attend, lowest float = blocked) from attention_mask
 * [B, T] and the current chunk x [B, S, ·]: query i (absolute position T - S + i) sees key j when j ≤ T - S + i and
 * attention_mask[b, j] = 1. The shape broadcasts over grouped-query scores [B, KVH, rep, S, T].
 */
export function decoderMask(g: GraphBuilder, x: string, attentionMask: string): string {
  const total = g.op('Shape', [attentionMask], { start: 1, end: 2 });
  const seq = g.op('Shape', [x], { start: 1, end: 2 });
  const totalScalar = g.op('Squeeze', [total, g.constInt64([0])]);
  const pastScalar = g.op('Squeeze', [g.op('Sub', [total, seq]), g.constInt64([0])]);
  const zero = g.constInt64([0], []);
  const one = g.constInt64([1], []);
  const keyIndex = g.op('Range', [zero, totalScalar, one]);
  const queryIndex = g.op('Unsqueeze', [g.op('Range', [pastScalar, totalScalar, one]), g.constInt64([1])]);
  const causal = g.op('LessOrEqual', [keyIndex, queryIndex]);
  const padding = g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: 9 }), g.constInt64([1, 2, 3])]);
  const allowed = g.op('And', [causal, padding]);
  return g.op('Where', [allowed, g.constFloat([0], []), g.constFloat([MASKED], [])]);
}

/** cos/sin tables for queries ([B, 1, 1, S, hd]) and keys ([B, 1, S, hd]). */
export interface RopeTables {
  cos4: string;
  sin4: string;
  cos5: string;
  sin5: string;
}

/**
 * Rotate-half RoPE tables gathered by position_ids [B, S] from constant cos/sin caches [maxPositions, hd] (angle =
 * position · θ^(-2i/hd), duplicated over both halves). Precomputed rather than Cos/Sin in the graph: WGSL's sin/cos
 * are only accurate to ~2^-11 absolute, which put WebGPU logits 1e-3 away from the CPU. The angle is rounded to
 * float32 the way HF's LlamaRotaryEmbedding computes it (float32 inv_freq times float32 position), then cos/sin are
 * taken exactly. Positions ≥ maxPositions are out of range for the Gather (the caller must enforce the context size).
 */
export function ropeTables(
  g: GraphBuilder,
  positionIds: string,
  headDim: number,
  theta: number,
  maxPositions: number,
): RopeTables {
  const half = headDim / 2;
  const f = Math.fround;
  const invFreq = Array.from({ length: half }, (_, i) => f(1 / f(f(theta) ** f((2 * i) / headDim))));
  const cosCache = new Float32Array(maxPositions * headDim);
  const sinCache = new Float32Array(maxPositions * headDim);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f(p * (invFreq[i] as number));
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cosCache[p * headDim + i] = c;
      cosCache[p * headDim + half + i] = c;
      sinCache[p * headDim + i] = s;
      sinCache[p * headDim + half + i] = s;
    }
  }
  const dims = [maxPositions, headDim];
  const cos = g.op(
    'Gather',
    [g.initializer('rotary_emb.cos_cached', { dtype: 'float32', dims, data: cosCache }), positionIds],
    { axis: 0 },
  );
  const sin = g.op(
    'Gather',
    [g.initializer('rotary_emb.sin_cached', { dtype: 'float32', dims, data: sinCache }), positionIds],
    { axis: 0 },
  );
  return {
    cos4: g.op('Unsqueeze', [cos, g.constInt64([1])]),
    sin4: g.op('Unsqueeze', [sin, g.constInt64([1])]),
    cos5: g.op('Unsqueeze', [cos, g.constInt64([1, 2])]),
    sin5: g.op('Unsqueeze', [sin, g.constInt64([1, 2])]),
  };
}
