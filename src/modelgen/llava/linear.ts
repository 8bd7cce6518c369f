// Owns emitting one Linear layer (y = x·Wᵀ + b) in the operator form of each dtype: MatMul (fp32), MatMulNBits
// (q4) or DynamicQuantizeLinear + MatMulInteger (q8). No model structure here.
import type { GraphBuilder } from '../onnx/graph-builder';
import { bytesOf, derivedInitializers, f32Bytes, getWeight, weightInit } from './nn';
import { quantizeQ4, quantizeQ8Linear } from './quantize';
import { transposeBlocked } from './transpose';
import type { F32Tensor, WeightMap } from './types';

/** The dtypes this generator emits graphs for (fp16 is not generated: the test WebGPU adapter lacks shader-f16). */
export type GraphDtype = 'fp32' | 'q8' | 'q4';

/** Per-graph state for emitting Linear layers. */
export interface LinearEmitter {
  g: GraphBuilder;
  weights: WeightMap;
  dtype: GraphDtype;
  /** q4 block size along K (default 32). */
  q4BlockSize: number;
  /** q8: one DynamicQuantizeLinear per activation, shared by the projections that read it (as optimum emits). */
  dynQuant: Map<string, [string, string, string]>;
}

export function linearEmitter(
  g: GraphBuilder,
  weights: WeightMap,
  dtype: GraphDtype,
  q4BlockSize = 32,
): LinearEmitter {
  return { g, weights, dtype, q4BlockSize, dynQuant: new Map() };
}

export interface LinearOptions {
  /** Add `${prefix}.bias` (default false). */
  bias?: boolean;
  /** Weight name when it is not `${prefix}.weight` (tied lm_head). */
  weightName?: string;
  /** Keep this layer fp32 even in a quantised graph. */
  keepFloat?: boolean;
}

/** Emits the Linear `${prefix}` (PyTorch weight [out, in]) applied to x [..., in]; returns y [..., out]. */
export function linear(e: LinearEmitter, x: string, prefix: string, options: LinearOptions = {}): string {
  const { g, weights } = e;
  const source = options.weightName ?? `${prefix}.weight`;
  // Only the shape is read here: the values are read by the fills, when the bytes are written.
  const w = getWeight(weights, source);
  const [n, k] = w.dims;
  if (w.dims.length !== 2 || n === undefined || k === undefined)
    throw new Error(`${prefix}: weight is not 2-D`);
  const dtype = options.keepFloat === true ? 'fp32' : e.dtype;
  let y: string;
  if (dtype === 'q4') {
    const blockSize = e.q4BlockSize;
    const blocksPerRow = Math.ceil(k / blockSize);
    const [b, s, z] = derivedInitializers(
      g,
      source,
      () => quantizeQ4(w, blockSize),
      [
        {
          name: `${prefix}.weight_Q4`,
          dtype: 'uint8',
          dims: [n, blocksPerRow, blockSize / 2],
          bytes: (q) => q.packed,
        },
        {
          name: `${prefix}.weight_scales`,
          dtype: 'float32',
          dims: [n, blocksPerRow],
          bytes: (q) => bytesOf(q.scales),
        },
        {
          name: `${prefix}.weight_zp`,
          dtype: 'uint8',
          dims: [n, Math.ceil(blocksPerRow / 2)],
          bytes: (q) => q.zeroPoints,
        },
      ],
      // Rows are quantised independently (blocks run along K): a block of rows gives those rows' bytes exactly.
      (data, count) => quantizeQ4({ dims: [count, k], data }, blockSize),
    ) as [string, string, string];
    y = g.op(
      'MatMulNBits',
      [x, b, s, z],
      { K: k, N: n, bits: 4, block_size: blockSize, accuracy_level: 0 },
      { domain: 'com.microsoft' },
    );
  } else if (dtype === 'q8') {
    const [b, bZero, bScale] = derivedInitializers(g, source, () => quantizeQ8Linear(w), [
      { name: `${prefix}.weight_quantized`, dtype: 'uint8', dims: [k, n], bytes: (q) => q.data },
      {
        name: `${prefix}.weight_zero_point`,
        dtype: 'uint8',
        dims: [],
        bytes: (q) => Uint8Array.of(q.zeroPoint),
      },
      { name: `${prefix}.weight_scale`, dtype: 'float32', dims: [], bytes: (q) => f32Bytes(q.scale) },
    ]) as [string, string, string];
    let dq = e.dynQuant.get(x);
    if (dq === undefined) {
      const [xq, xs, xz] = g.node('DynamicQuantizeLinear', [x], {}, { outputs: 3 });
      dq = [xq as string, xs as string, xz as string];
      e.dynQuant.set(x, dq);
    }
    const acc = g.op('MatMulInteger', [dq[0], b, dq[2], bZero]);
    const scale = g.op('Mul', [dq[1], bScale]);
    y = g.op('Mul', [g.op('Cast', [acc], { to: 1 }), scale]);
  } else {
    const wt = g.deferredInitializer(`${prefix}.weight`, 'float32', [k, n], {
      fill: (dst) => transposeF32(w, new Float32Array(dst.buffer, dst.byteOffset, n * k)),
      source,
    });
    y = g.op('MatMul', [x, wt]);
  }
  if (options.bias === true) y = g.op('Add', [y, weightInit(g, weights, `${prefix}.bias`)]);
  return y;
}

/**
 * Transposes a 2-D float tensor [R, C] into `out` (a new [C, R] array by default); blocked, so large weights stay
 * cache-friendly.
 */
export function transposeF32(
  t: F32Tensor,
  out: Float32Array = new Float32Array(t.data.length),
): Float32Array {
  const [rows, cols] = t.dims as [number, number];
  return transposeBlocked(t.data, rows, cols, out, 32);
}
