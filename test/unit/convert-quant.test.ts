// Quantised conversions: the q4 decoder's MatMulNBits blocks (read back from the written files and decoded here, from
// the documented layout) reproduce every checkpoint weight within half a step; the q4 model equals the float64
// reference on those dequantised weights, which bounds how far it may drift from fp32; fp16 storage equals the
// reference on fp16-rounded weights at half the file size.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertCheckpoint, type ConvertResult } from '../../src/modelgen/convert/convert';
import { float32ToHalf, halfToFloat32 } from '../../src/shared/float16';
import type { WeightMap } from '../../src/modelgen/llava/types';
import { decodeModel } from '../../src/modelgen/onnx/codec';
import type { ModelProto, TensorProto } from '../../src/modelgen/onnx/proto-types';
import { referencePrefill } from '../fixtures/reference';
import { getTinyModel } from '../fixtures/tiny-model';
import { removeTempDirs, tempDir, writeLlavaHfCheckpoint } from './convert-helpers';
import { ConvertedModel } from './convert-runner';
import { maxAbsDiff } from './helpers/compare';

const TOL = 1e-4;

function pixels(size: number): Float32Array {
  return new Float32Array(3 * size * size).map((_, i) => Math.sin(i * 0.37) * 1.5);
}

/** An initializer's bytes, from the protobuf or its external data file. */
function initializerBytes(dir: string, t: TensorProto): Uint8Array {
  if (t.rawData) return t.rawData;
  const get = (k: string): string => t.externalData!.find((e) => e.key === k)!.value;
  const file = readFileSync(path.join(dir, 'onnx', get('location')));
  const offset = Number(get('offset'));
  return new Uint8Array(file.buffer, file.byteOffset + offset, Number(get('length')));
}

/**
 * Decodes MatMulNBits inputs as the README documents them (independently of the quantiser): B [N, blocks, 16] two
 * codes a byte, low nibble first; scales [N, blocks] float32; zero points [N, ceil(blocks/2)] two nibbles a byte,
 * low nibble for even blocks. value = (code − zp) · scale. Returns the weight [N, K] and each element's scale.
 */
function decodeQ4(b: Uint8Array, scales: Float32Array, zp: Uint8Array, n: number, k: number, block: number) {
  const blocks = Math.ceil(k / block);
  const out = new Float32Array(n * k);
  const step = new Float32Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) {
      const bi = Math.floor(c / block);
      const j = c % block;
      const byte = b[(r * blocks + bi) * (block / 2) + Math.floor(j / 2)]!;
      const code = j % 2 === 0 ? byte & 15 : byte >> 4;
      const zbyte = zp[r * Math.ceil(blocks / 2) + Math.floor(bi / 2)]!;
      const z = bi % 2 === 0 ? zbyte & 15 : zbyte >> 4;
      const s = scales[r * blocks + bi]!;
      out[r * k + c] = (code - z) * s;
      step[r * k + c] = s;
    }
  }
  return { weight: out, step };
}

describe('q4 and fp16 conversions', () => {
  const tiny = getTinyModel('tiny');
  const px = pixels(32);
  const ids = [1, 40, 41, ...Array<number>(16).fill(tiny.config.image_token_index), 50, 51, 52];
  const root = tempDir('quant');
  const input = path.join(root, 'ckpt');
  const out = new Map<string, ConvertResult>();

  beforeAll(async () => {
    writeLlavaHfCheckpoint(input, tiny.config, tiny.weights, 'llava-hf');
    for (const quant of ['fp32', 'q4', 'fp16'] as const) {
      out.set(
        quant,
        await convertCheckpoint({
          input,
          output: path.join(root, quant),
          quant,
          visionQuant: quant === 'fp16' ? 'fp16' : 'fp32',
        }),
      );
    }
  });

  async function prefill(quant: string): Promise<Float32Array> {
    const model = await ConvertedModel.open(out.get(quant)!.dir);
    try {
      return await model.prefill(ids, { data: px, size: 32 });
    } finally {
      await model.release();
    }
  }

  function q4Model(): ModelProto {
    return decodeModel(readFileSync(path.join(out.get('q4')!.dir, 'onnx/decoder_model_merged_q4.onnx')));
  }

  it('writes MatMulNBits blocks that reproduce every decoder weight within half a q4 step', () => {
    const model = q4Model();
    const nodes = model.graph.node.filter((n) => n.opType === 'MatMulNBits');
    // 7 projections per layer, 2 layers, and lm_head.
    expect(nodes).toHaveLength(7 * 2 + 1);
    const inits = new Map(model.graph.initializer.map((t) => [t.name, t]));
    const dir = out.get('q4')!.dir;
    for (const node of nodes) {
      const attr = (name: string): number => Number(node.attribute!.find((a) => a.name === name)!.i);
      expect([attr('bits'), attr('block_size')]).toEqual([4, 32]);
      const [, bName, sName, zName] = node.input as [string, string, string, string];
      const prefix = bName.replace(/\.weight_Q4$/, '');
      const original = tiny.weights.get(`${prefix}.weight`)!;
      const [n, k] = original.dims as [number, number];
      expect([attr('N'), attr('K')]).toEqual([n, k]);
      const sBytes = initializerBytes(dir, inits.get(sName)!);
      const { weight, step } = decodeQ4(
        initializerBytes(dir, inits.get(bName)!),
        new Float32Array(new Uint8Array(sBytes).buffer),
        initializerBytes(dir, inits.get(zName)!),
        n,
        k,
        32,
      );
      let worst = 0;
      for (let i = 0; i < weight.length; i++)
        worst = Math.max(worst, Math.abs(weight[i]! - original.data[i]!) / step[i]!);
      expect(worst, prefix).toBeLessThanOrEqual(0.5 + 1e-4);
      expect(worst, prefix).toBeGreaterThan(0.3); // really quantised, not a float copy
    }
  });

  it('q4 logits equal the reference on the dequantised weights, so their distance to fp32 is the rounding alone', async () => {
    const model = q4Model();
    const inits = new Map(model.graph.initializer.map((t) => [t.name, t]));
    const dir = out.get('q4')!.dir;
    const dequantised: WeightMap = new Map(tiny.weights);
    for (const node of model.graph.node.filter((x) => x.opType === 'MatMulNBits')) {
      const [, bName, sName, zName] = node.input as [string, string, string, string];
      const prefix = bName.replace(/\.weight_Q4$/, '');
      const w = tiny.weights.get(`${prefix}.weight`)!;
      const sBytes = initializerBytes(dir, inits.get(sName)!);
      const { weight } = decodeQ4(
        initializerBytes(dir, inits.get(bName)!),
        new Float32Array(new Uint8Array(sBytes).buffer),
        initializerBytes(dir, inits.get(zName)!),
        w.dims[0]!,
        w.dims[1]!,
        32,
      );
      dequantised.set(`${prefix}.weight`, { dims: w.dims, data: weight });
    }
    const q4 = await prefill('q4');
    const fp32 = await prefill('fp32');
    const refQ = referencePrefill(tiny.config, dequantised, ids, { data: px }).logits;
    const refF = referencePrefill(tiny.config, tiny.weights, ids, { data: px }).logits;
    expect(maxAbsDiff(q4, refQ)).toBeLessThan(TOL);
    // Justified bound: the q4 graph computes exactly the model with weights on the q4 grid (checked just above), so
    // its distance to the fp32 conversion is that model's distance to the original, plus both graphs' fp32 error.
    const budget = maxAbsDiff(refQ, refF) + 2 * TOL;
    expect(maxAbsDiff(q4, fp32)).toBeLessThanOrEqual(budget);
    expect(maxAbsDiff(q4, fp32)).toBeGreaterThan(1e-3);
  });

  it('fp16 stores half-size weights and equals the reference on fp16-rounded weights', async () => {
    const rounded: WeightMap = new Map();
    for (const [name, t] of tiny.weights) {
      rounded.set(
        name,
        t.dims.length >= 2 ? { dims: t.dims, data: halfToFloat32(float32ToHalf(t.data)) } : t,
      );
    }
    const ref = referencePrefill(tiny.config, rounded, ids, { data: px }).logits;
    expect(maxAbsDiff(await prefill('fp16'), ref)).toBeLessThan(TOL);
    const bytes = (r: ConvertResult, prefix: string): number =>
      r.files
        .filter((f) => f.path.startsWith(`onnx/${prefix}`) && f.path.includes('_data'))
        .reduce((n, f) => n + f.size, 0);
    for (const c of ['vision_encoder', 'embed_tokens', 'decoder_model_merged']) {
      const ratio = bytes(out.get('fp16')!, c) / bytes(out.get('fp32')!, c);
      expect(ratio, c).toBeGreaterThan(0.45);
      expect(ratio, c).toBeLessThan(0.62);
    }
    const config = JSON.parse(readFileSync(path.join(out.get('fp16')!.dir, 'config.json'), 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    expect(config['transformers.js_config']!.dtype).toEqual({
      vision_encoder: 'fp16',
      embed_tokens: 'fp16',
      decoder_model_merged: 'fp16',
    });
  });
});

afterAll(removeTempDirs);
