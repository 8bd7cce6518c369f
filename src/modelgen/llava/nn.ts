// Owns the small neural-network building blocks shared by the LLaVA graphs (norms, activations, head reshapes,
// weight lookup). No whole-model structure here, and no quantisation (linear.ts).
import { attrFloat, type ElemType, type GraphBuilder } from '../onnx/graph-builder';
import type { F32Tensor, WeightMap } from './types';

/** Returns a weight by its llava-hf name; throws an Error naming the missing tensor. */
export function getWeight(weights: WeightMap, name: string): F32Tensor {
  const t = weights.get(name);
  if (t === undefined) throw new Error(`missing weight ${name}`);
  return t;
}

/** The bytes of a typed array, as a view. */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Adds a float32 initializer from a weight, under its llava-hf name (or `as`), shaped `dims` (default the weight's).
 * Deferred: the weight's values are read only when the bytes are written (a streaming converter fills it when the
 * tensor arrives; `getWeight` may hand out a tensor whose data is not loaded yet).
 */
export function weightInit(
  g: GraphBuilder,
  weights: WeightMap,
  name: string,
  as = name,
  dims?: readonly number[],
): string {
  const t = getWeight(weights, name);
  return g.deferredInitializer(as, 'float32', dims ?? t.dims, {
    view: () => bytesOf(t.data),
    source: name,
    rows: (_first, _count, data) => bytesOf(data),
  });
}

/** One output of a computation over a weight: its initializer and how its bytes come out of the result. */
export interface DerivedOutput<T> {
  name: string;
  dtype: ElemType;
  dims: readonly number[];
  bytes: (result: T) => Uint8Array;
}

/**
 * Adds the initializers made together from one weight (a quantised weight's codes, scales and zero points), in the
 * order given, all deferred: `compute` runs when the first is written and its result is forgotten after the last,
 * so it lives only while its outputs are written. `computeRows`, for a computation row by row (each output laid out
 * by the weight's rows), gives the same outputs for `count` rows alone (their values in `data`), so the weight can
 * stream past in row blocks; its result is shared by the outputs the same way, block by block. Returns their names.
 */
export function derivedInitializers<T>(
  g: GraphBuilder,
  source: string,
  compute: () => T,
  outputs: ReadonlyArray<DerivedOutput<T>>,
  computeRows?: (data: Float32Array, count: number) => T,
): string[] {
  let value: T | null = null;
  let left = outputs.length;
  const shared = (): T => {
    const v = value ?? compute();
    left--;
    value = left > 0 ? v : null;
    return v;
  };
  let block: { data: Float32Array; first: number; value: T; left: number } | null = null;
  const sharedRows = (first: number, count: number, data: Float32Array): T => {
    if (computeRows === undefined) throw new Error(`${source}: no row-wise computation`);
    if (block?.data !== data || block.first !== first)
      block = { data, first, value: computeRows(data, count), left: outputs.length };
    const v = block.value;
    if (--block.left === 0) block = null;
    return v;
  };
  // The result's own bytes are written (as a view), not copied into a fresh buffer first: a quantised tensor's
  // outputs are held once while its float32 form is.
  return outputs.map((o) =>
    g.deferredInitializer(o.name, o.dtype, o.dims, {
      view: () => o.bytes(shared()),
      source,
      ...(computeRows === undefined
        ? {}
        : {
            rows: (first: number, count: number, data: Float32Array) =>
              o.bytes(sharedRows(first, count, data)),
          }),
    }),
  );
}

/** A float32 scalar's bytes. */
export const f32Bytes = (x: number): Uint8Array => bytesOf(Float32Array.of(x));

/** LayerNorm over the last axis (opset-17 LayerNormalization) with weight and bias `${prefix}.{weight,bias}`. */
export function layerNorm(
  g: GraphBuilder,
  weights: WeightMap,
  x: string,
  prefix: string,
  eps: number,
): string {
  const w = weightInit(g, weights, `${prefix}.weight`);
  const b = weightInit(g, weights, `${prefix}.bias`);
  return g.op('LayerNormalization', [x, w, b], { axis: -1, epsilon: attrFloat(eps) });
}

/** LLaMA RMSNorm: x / sqrt(mean(x²) + eps) · weight, as in HF's LlamaRMSNorm (float32 throughout). */
export function rmsNorm(g: GraphBuilder, weights: WeightMap, x: string, prefix: string, eps: number): string {
  const w = weightInit(g, weights, `${prefix}.weight`);
  const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  const rms = g.op('Sqrt', [g.op('Add', [meanSquare, g.constFloat([eps], [])])]);
  return g.op('Mul', [g.op('Div', [x, rms]), w]);
}

/** SiLU: x · sigmoid(x). */
export function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/** CLIP's QuickGELU: x · sigmoid(1.702 x). */
export function quickGelu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.constFloat([1.702], [])])])]);
}

/** Exact (erf) GELU: 0.5 · x · (1 + erf(x / √2)), HF's 'gelu'. */
export function geluErf(g: GraphBuilder, x: string): string {
  const erf = g.op('Erf', [g.op('Mul', [x, g.constFloat([Math.SQRT1_2], [])])]);
  return g.op('Mul', [g.op('Mul', [x, g.constFloat([0.5], [])]), g.op('Add', [erf, g.constFloat([1], [])])]);
}

/** Tanh-approximated GELU (HF 'gelu_pytorch_tanh'): 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³))). */
export function geluTanh(g: GraphBuilder, x: string): string {
  const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
  const inner = g.op('Add', [x, g.op('Mul', [cube, g.constFloat([0.044715], [])])]);
  const t = g.op('Tanh', [g.op('Mul', [inner, g.constFloat([Math.sqrt(2 / Math.PI)], [])])]);
  return g.op('Mul', [g.op('Mul', [x, g.constFloat([0.5], [])]), g.op('Add', [t, g.constFloat([1], [])])]);
}

/** Applies the activation named by an HF config (`hidden_act` / `projector_hidden_act`). */
export function activation(g: GraphBuilder, name: string, x: string): string {
  switch (name) {
    case 'quick_gelu':
      return quickGelu(g, x);
    case 'gelu':
      return geluErf(g, x);
    case 'gelu_pytorch_tanh':
    case 'gelu_new':
      return geluTanh(g, x);
    case 'silu':
      return silu(g, x);
    default:
      throw new Error(`unsupported activation ${name}`);
  }
}

/** [B, S, heads·hd] → [B, heads, S, hd]. */
export function splitHeads(g: GraphBuilder, x: string, heads: number, headDim: number): string {
  const r = g.op('Reshape', [x, g.constInt64([0, 0, heads, headDim])]);
  return g.op('Transpose', [r], { perm: [0, 2, 1, 3] });
}

/** [B, heads, S, hd] → [B, S, heads·hd]. */
export function mergeHeads(g: GraphBuilder, x: string, heads: number, headDim: number): string {
  const t = g.op('Transpose', [x], { perm: [0, 2, 1, 3] });
  return g.op('Reshape', [t, g.constInt64([0, 0, heads * headDim])]);
}
