// Checks the float64 reference forward pass on its own terms: erf accuracy, cached decode equal to full recompute,
// padding and position-shift invariances, and image feature counts. The ONNX comparison lives in
// generator-onnx.test.ts.

import { describe, expect, it } from 'vitest';
import { getPreset, type PresetName } from '../../src/modelgen/llava/presets';
import { createRandomWeights } from '../../src/modelgen/llava/random-weights';
import {
  erf,
  referenceEmbed,
  referenceImageFeatures,
  referenceLogits,
  referencePositionIds,
  referencePrefill,
} from '../fixtures/reference';
import { maxAbsDiff } from './helpers/compare';

function pixels(size: number, seed: number): Float32Array {
  const out = new Float32Array(3 * size * size);
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(i * 0.37 + seed) * 1.5;
  return out;
}

describe('erf', () => {
  it('matches tabulated values to 1e-15', () => {
    const table: Array<[number, number]> = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [-1.5, -0.9661051464753108],
      [2, 0.9953222650189527],
      [3.5, 0.9999992569016276],
      [5, 0.9999999999984626],
    ];
    for (const [x, y] of table) expect(Math.abs(erf(x) - y)).toBeLessThan(1e-15);
  });
});

for (const preset of ['tiny', 'tiny-qwen-siglip'] as PresetName[]) {
  describe(`reference (${preset})`, () => {
    const config = getPreset(preset);
    const weights = createRandomWeights(config, 3);
    const V = config.text_config.vocab_size;
    const ids = [1, 17, 42, 300, 5, 99, 123, 7];

    it('gives the same logits for cached decode steps as for a full recompute', () => {
      const full = referencePrefill(config, weights, ids);
      const prefix = 5;
      let step = referenceLogits(config, weights, {
        inputsEmbeds: referenceEmbed(config, weights, ids.slice(0, prefix)),
        positionIds: [0, 1, 2, 3, 4],
      });
      for (let t = prefix; t < ids.length; t++) {
        step = referenceLogits(config, weights, {
          inputsEmbeds: referenceEmbed(config, weights, [ids[t]!]),
          positionIds: [t],
          past: step.present,
        });
        expect(maxAbsDiff(step.logits, full.logits.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-12);
      }
      expect(step.present.length).toBe(ids.length);
      expect(maxAbsDiff(step.present.layers[0]!.key, full.present.layers[0]!.key)).toBeLessThan(1e-12);
    });

    it('ignores left padding when the mask and position ids say so', () => {
      const plain = referencePrefill(config, weights, ids);
      const padded = [V - 1, V - 1, V - 1, ...ids];
      const mask = [0, 0, 0, ...ids.map(() => 1)];
      const out = referenceLogits(config, weights, {
        inputsEmbeds: referenceEmbed(config, weights, padded),
        positionIds: referencePositionIds(mask),
        attentionMask: mask,
      });
      expect(maxAbsDiff(out.logits.subarray(3 * V), plain.logits)).toBeLessThan(1e-12);
    });

    it('depends on positions only through their differences (RoPE)', () => {
      const embeds = referenceEmbed(config, weights, ids);
      const at = (offset: number): Float64Array =>
        referenceLogits(config, weights, { inputsEmbeds: embeds, positionIds: ids.map((_, i) => i + offset) })
          .logits;
      const base = at(0);
      expect(maxAbsDiff(at(37), base)).toBeLessThan(1e-9);
      // ...and positions do matter: the same tokens at spread-out positions give other logits.
      const spread = referenceLogits(config, weights, {
        inputsEmbeds: embeds,
        positionIds: ids.map((_, i) => i * 3),
      });
      expect(maxAbsDiff(spread.logits, base)).toBeGreaterThan(1e-3);
    });

    it('returns one projected feature row per image token', () => {
      const size = config.vision_config.image_size;
      const f = referenceImageFeatures(config, weights, { data: pixels(size, 1) });
      expect(f.numFeatures).toBe((size / config.vision_config.patch_size) ** 2);
      expect(f.hiddenSize).toBe(config.text_config.hidden_size);
      expect(f.features.every(Number.isFinite)).toBe(true);
      const other = referenceImageFeatures(config, weights, { data: pixels(size, 2) });
      expect(maxAbsDiff(f.features, other.features)).toBeGreaterThan(1e-3);
    });

    it('puts image features at the image tokens of a prompt', () => {
      const size = config.vision_config.image_size;
      const n = (size / config.vision_config.patch_size) ** 2;
      const prompt = [1, 40, ...new Array<number>(n).fill(config.image_token_index), 41, 42];
      const a = referencePrefill(config, weights, prompt, { data: pixels(size, 1) });
      const b = referencePrefill(config, weights, prompt, { data: pixels(size, 2) });
      // The text before the image cannot see it (causal); the text after it can.
      expect(maxAbsDiff(a.logits.subarray(0, 2 * V), b.logits.subarray(0, 2 * V))).toBe(0);
      expect(maxAbsDiff(a.logits.subarray(-V), b.logits.subarray(-V))).toBeGreaterThan(1e-3);
    });
  });
}
