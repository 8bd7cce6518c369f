// Checks the q4 (MatMulNBits) and q8 (DynamicQuantizeLinear + MatMulInteger) paths: packing round trips within half
// a step, onnxruntime reads the packing exactly as documented, and whole quantised graphs stay close to fp32.
import { describe, expect, it } from 'vitest';
import { buildComponent } from '../../src/modelgen/llava/build-all';
import { buildDecoder } from '../../src/modelgen/llava/decoder-graph';
import { linear, linearEmitter } from '../../src/modelgen/llava/linear';
import { getPreset } from '../../src/modelgen/llava/presets';
import {
  dequantizeQ4,
  dequantizeQ8Linear,
  quantizeQ4,
  quantizeQ8Linear,
} from '../../src/modelgen/llava/quantize';
import { createRandomWeights, fillNormal } from '../../src/modelgen/llava/random-weights';
import type { F32Tensor, WeightMap } from '../../src/modelgen/llava/types';
import { buildVisionEncoder } from '../../src/modelgen/llava/vision-graph';
import { decodeModel } from '../../src/modelgen/onnx/codec';
import { GraphBuilder } from '../../src/modelgen/onnx/graph-builder';
import { serializeModel } from '../../src/modelgen/onnx/serialize';
import { emptyPast, f32, i64, maxAbsDiff, noise, sessionOf } from './modelgen-helpers';

function randomWeight(n: number, k: number, seed: number): F32Tensor {
  const data = fillNormal(new Float32Array(n * k), seed, 0, 0.3);
  data.fill(0, 0, Math.min(k, 32)); // an all-zero block in row 0
  return { dims: [n, k], data };
}

/** x [M, K] · Wᵀ for W [N, K], in float64. */
function matmulT(x: Float32Array, m: number, w: F32Tensor): Float64Array {
  const [n, k] = w.dims as [number, number];
  const out = new Float64Array(m * n);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += (x[r * k + j] as number) * (w.data[c * k + j] as number);
      out[r * n + c] = s;
    }
  }
  return out;
}

/** A graph with one Linear `l` (no bias) in the given dtype, input x [M, K]. */
async function linearSession(w: F32Tensor, dtype: 'q4' | 'q8', m: number) {
  const g = new GraphBuilder('linear');
  const weights: WeightMap = new Map([['l.weight', w]]);
  const x = g.input('x', 'float32', [m, w.dims[1]!]);
  g.output('y', 'float32', [m, w.dims[0]!], linear(linearEmitter(g, weights, dtype), x, 'l'));
  return sessionOf(g);
}

function relRms(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < want.length; i++) {
    err += ((got[i] as number) - (want[i] as number)) ** 2;
    ref += (want[i] as number) ** 2;
  }
  return Math.sqrt(err / ref);
}

describe('q4 block quantisation', () => {
  it.each([
    [24, 64],
    [5, 70], // K not a multiple of the block: the tail block is padded
  ])('reproduces a [%i, %i] weight within half a step of its block', (n, k) => {
    const w = randomWeight(n, k, 3);
    const q = quantizeQ4(w);
    expect(q.packed.length).toBe(n * Math.ceil(k / 32) * 16);
    const back = dequantizeQ4(q);
    expect(back.dims).toEqual([n, k]);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < k; c++) {
        const step = q.scales[r * q.blocksPerRow + Math.floor(c / 32)]!;
        const err = Math.abs(back.data[r * k + c]! - w.data[r * k + c]!);
        expect(err).toBeLessThanOrEqual(step / 2 + 1e-6 * step);
      }
    }
    // the all-zero block stays exactly zero
    for (let c = 0; c < Math.min(k, 32); c++) expect(back.data[c]).toBe(0);
  });

  it('is read by onnxruntime MatMulNBits exactly as dequantizeQ4 documents (layout check)', async () => {
    const w = randomWeight(40, 96, 5);
    const x = noise(3 * 96, 9);
    const out = await (await linearSession(w, 'q4', 3)).run({ x: f32(x, [3, 96]) });
    const want = matmulT(x, 3, dequantizeQ4(quantizeQ4(w)));
    expect(maxAbsDiff(out.y!.data as Float32Array, want)).toBeLessThanOrEqual(1e-5);
    // and the quantised result is a different (lossy) one from full precision
    expect(maxAbsDiff(out.y!.data as Float32Array, matmulT(x, 3, w))).toBeGreaterThan(1e-3);
  });
});

describe('q8 dynamic quantisation', () => {
  it('reproduces weights within half a step after the [K, N] transpose', () => {
    const w = randomWeight(12, 20, 4);
    const q = quantizeQ8Linear(w);
    expect([q.k, q.n]).toEqual([20, 12]);
    expect(maxAbsDiff(dequantizeQ8Linear(q).data, w.data)).toBeLessThanOrEqual(q.scale / 2 + 1e-7);
  });

  it('runs DynamicQuantizeLinear + MatMulInteger within the bound its two quantisation steps allow', async () => {
    const w = randomWeight(40, 96, 6);
    const x = noise(3 * 96, 10);
    const y = (await (await linearSession(w, 'q8', 3)).run({ x: f32(x, [3, 96]) })).y!.data as Float32Array;
    const q = quantizeQ8Linear(w);
    const xMax = Math.max(0, ...x);
    const xMin = Math.min(0, ...x);
    const xStep = (xMax - xMin) / 255;
    const exact = matmulT(x, 3, w);
    // |Δy| ≤ Σ_k (|x|·Δw + |w|·Δx + Δx·Δw) with Δw ≤ wStep/2, Δx ≤ xStep/2 (per output, summed over K)
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 40; c++) {
        let bound = 0;
        for (let j = 0; j < 96; j++) {
          bound +=
            Math.abs(x[r * 96 + j]!) * (q.scale / 2) +
            Math.abs(w.data[c * 96 + j]!) * (xStep / 2) +
            (q.scale * xStep) / 4;
        }
        expect(Math.abs(y[r * 40 + c]! - exact[r * 40 + c]!)).toBeLessThanOrEqual(bound * 1.001 + 1e-6);
      }
    }
  });
});

describe.each(['tiny', 'tiny-qwen-siglip'] as const)('quantised LLaVA graphs (%s)', (preset) => {
  const config = getPreset(preset);
  const weights = createRandomWeights(config, 3);
  const D = config.text_config.hidden_size;
  const pixels = f32(
    new Float32Array(2 * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.37) * 1.5),
    [2, 3, 32, 32],
  );
  const T = 12;
  const decoderFeeds = {
    inputs_embeds: f32(noise(T * D, 17, 1.5), [1, T, D]),
    attention_mask: i64(Array(T).fill(1), [1, T]),
    position_ids: i64([...Array(T).keys()], [1, T]),
    num_logits_to_keep: i64([0], []),
    ...emptyPast(config, 1),
  };

  it('uses the operators of real exports: MatMulNBits for q4, MatMulInteger for q8, no float MatMul on weights', () => {
    const opsOf = (dtype: 'q4' | 'q8', component: 'vision_encoder' | 'decoder_model_merged') => {
      const model = decodeModel(
        serializeModel(buildComponent(config, weights, component, dtype), 'm.onnx')[0]!.bytes,
      );
      const inits = new Set(model.graph.initializer.map((t) => t.name));
      return {
        ops: new Set(model.graph.node.map((n) => n.opType)),
        floatWeightMatMuls: model.graph.node.filter((n) => n.opType === 'MatMul' && inits.has(n.input[1]!))
          .length,
        domains: model.opsetImport.map((o) => o.domain),
      };
    };
    for (const component of ['vision_encoder', 'decoder_model_merged'] as const) {
      const q4 = opsOf('q4', component);
      expect(q4.ops.has('MatMulNBits')).toBe(true);
      expect(q4.domains).toContain('com.microsoft');
      expect(q4.floatWeightMatMuls).toBe(0);
      const q8 = opsOf('q8', component);
      expect(q8.ops.has('MatMulInteger')).toBe(true);
      expect(q8.ops.has('DynamicQuantizeLinear')).toBe(true);
      expect(q8.floatWeightMatMuls).toBe(0);
    }
  });

  // Tolerances: per-tensor uint8 weights and activations each add ~1% relative error per projection (step ≈ range/255
  // over ~±5σ), and blockwise 4-bit weights ~8% (step ≈ 4σ/15, RMS step/√12); over the ~8 projections on a path the
  // errors add roughly in quadrature. Measured: q8 ≈ 0.02–0.03, q4 ≈ 0.17–0.18 relative RMS; bounds leave ~2× room.
  it.each([
    ['q8', 0.06],
    ['q4', 0.35],
  ] as const)('%s image features and logits stay within relative RMS %f of fp32', async (dtype, tol) => {
    const vision = async (d: 'fp32' | 'q8' | 'q4') =>
      (
        await (
          await sessionOf(buildVisionEncoder(config, weights, { dtype: d }))
        ).run({ pixel_values: pixels })
      ).image_features!.data as Float32Array;
    const logits = async (d: 'fp32' | 'q8' | 'q4') =>
      (await (await sessionOf(buildDecoder(config, weights, { dtype: d }))).run(decoderFeeds)).logits!
        .data as Float32Array;
    const vRef = await vision('fp32');
    const vQ = await vision(dtype);
    const lRef = await logits('fp32');
    const lQ = await logits(dtype);
    expect(relRms(vQ, vRef)).toBeLessThan(tol);
    expect(relRms(lQ, lRef)).toBeLessThan(tol);
    expect(relRms(lQ, lRef)).toBeGreaterThan(1e-4); // it really is quantised
  });

  it('q8 embed_tokens dequantises the gathered rows within half a step', async () => {
    const table = weights.get('language_model.model.embed_tokens.weight')!;
    const ids = [0, 5, 77, config.text_config.vocab_size - 1];
    const s = await sessionOf(buildComponent(config, weights, 'embed_tokens', 'q8'));
    const got = (await s.run({ input_ids: i64(ids, [1, 4]) })).inputs_embeds!.data as Float32Array;
    let min = 0;
    let max = 0;
    for (const v of table.data) [min, max] = [Math.min(min, v), Math.max(max, v)];
    const want = new Float32Array(ids.flatMap((id) => Array.from(table.data.subarray(id * D, (id + 1) * D))));
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(((max - min) / 255) * 0.5 + 1e-6);
  });
});
