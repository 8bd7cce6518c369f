// Checks the generated ONNX graphs (run in onnxruntime-node) against the float64 reference forward pass: vision
// features, embeddings, prefill logits and KV cache, cached decode steps, left padding and num_logits_to_keep, for
// the LLaMA + CLIP and the Qwen2 + SigLIP presets; quantised variants must stay close to the reference.

import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PresetName } from '../../src/modelgen/llava/presets';
import {
  argmaxRow,
  referenceEmbed,
  referenceImageFeatures,
  referenceLogits,
  referenceMergeImageFeatures,
  referencePositionIds,
  referencePrefill,
  textDims,
  type ReferenceKvCache,
} from '../fixtures/reference';
import { getTinyModel, type TinyModel } from '../fixtures/tiny-model';
import { maxAbsDiff, seededPixels } from './helpers/compare';

const TOL = 1e-4;

/** ‖a − b‖ / ‖b‖: scale-free, so one bound fits features and logits. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

const int64 = (values: readonly number[], dims: number[]): ort.Tensor =>
  new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

interface Sessions {
  vision: ort.InferenceSession;
  embed: ort.InferenceSession;
  decoder: ort.InferenceSession;
}

async function openSessions(dir: string, suffix: string): Promise<Sessions> {
  const open = (name: string): Promise<ort.InferenceSession> =>
    ort.InferenceSession.create(path.join(dir, 'onnx', `${name}${suffix}.onnx`));
  return {
    vision: await open('vision_encoder'),
    embed: await open('embed_tokens'),
    decoder: await open('decoder_model_merged'),
  };
}

/** Runs the ONNX decoder on float64 embeddings; returns logits and the present cache as float32 arrays. */
async function runDecoder(
  model: TinyModel,
  decoder: ort.InferenceSession,
  embeds: Float64Array,
  positionIds: number[],
  mask: number[],
  past: Map<string, ort.Tensor> | null,
  keep = 0,
): Promise<{ logits: Float32Array; present: Map<string, ort.Tensor> }> {
  const { hidden, kvHeads, headDim } = textDims(model.config);
  const T = positionIds.length;
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor('float32', Float32Array.from(embeds), [1, T, hidden]),
    attention_mask: int64(mask, [1, mask.length]),
    position_ids: int64(positionIds, [1, T]),
    num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.of(BigInt(keep)), []),
  };
  for (let l = 0; l < model.config.text_config.num_hidden_layers; l++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kind}`] =
        past?.get(`present.${l}.${kind}`) ??
        new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
    }
  }
  const out = await decoder.run(feeds);
  const present = new Map<string, ort.Tensor>();
  for (const [name, t] of Object.entries(out)) if (name.startsWith('present.')) present.set(name, t);
  return { logits: out.logits!.data as Float32Array, present };
}

function expectCacheClose(
  model: TinyModel,
  onnx: Map<string, ort.Tensor>,
  ref: ReferenceKvCache,
  tol: number,
): void {
  const { kvHeads, headDim } = textDims(model.config);
  for (let l = 0; l < model.config.text_config.num_hidden_layers; l++) {
    const key = onnx.get(`present.${l}.key`)!;
    expect(key.dims).toEqual([1, kvHeads, ref.length, headDim]);
    expect(maxAbsDiff(key.data as Float32Array, ref.layers[l]!.key)).toBeLessThan(tol);
    expect(
      maxAbsDiff(onnx.get(`present.${l}.value`)!.data as Float32Array, ref.layers[l]!.value),
    ).toBeLessThan(tol);
  }
}

for (const preset of ['tiny', 'tiny-qwen-siglip'] as PresetName[]) {
  describe(`generated ${preset} vs float64 reference`, () => {
    let model: TinyModel;
    let fp32: Sessions;
    let imageSize: number;
    let numFeatures: number;
    let prompt: number[];

    beforeAll(async () => {
      model = getTinyModel(preset, { dtypes: ['fp32', 'q8', 'q4'] });
      fp32 = await openSessions(model.dir, '');
      imageSize = model.config.vision_config.image_size;
      numFeatures = (imageSize / model.config.vision_config.patch_size) ** 2;
      prompt = [
        1,
        40,
        41,
        ...new Array<number>(numFeatures).fill(model.config.image_token_index),
        42,
        43,
        44,
      ];
    });
    afterAll(async () => {
      for (const s of Object.values(fp32 ?? {})) await s.release();
    });

    it('vision encoder matches the reference features', async () => {
      for (const seed of [1, 2]) {
        const px = seededPixels(imageSize, seed);
        const out = await fp32.vision.run({
          pixel_values: new ort.Tensor('float32', px, [1, 3, imageSize, imageSize]),
        });
        const ref = referenceImageFeatures(model.config, model.weights, { data: px });
        expect(out.image_features!.dims).toEqual([1, ref.numFeatures, ref.hiddenSize]);
        expect(ref.numFeatures).toBe(numFeatures);
        expect(maxAbsDiff(out.image_features!.data as Float32Array, ref.features)).toBeLessThan(TOL);
      }
    });

    it('embed_tokens returns the embedding rows', async () => {
      const ids = [0, 1, 2, 77, model.config.image_token_index, model.config.text_config.vocab_size - 1];
      const out = await fp32.embed.run({ input_ids: int64(ids, [1, ids.length]) });
      expect(
        maxAbsDiff(out.inputs_embeds!.data as Float32Array, referenceEmbed(model.config, model.weights, ids)),
      ).toBe(0);
    });

    it('prefill logits, KV cache and cached decode steps match the reference', async () => {
      const { vocab } = textDims(model.config);
      const px = seededPixels(imageSize, 3);
      const features = referenceImageFeatures(model.config, model.weights, { data: px }).features;
      const embeds = referenceMergeImageFeatures(
        model.config,
        referenceEmbed(model.config, model.weights, prompt),
        prompt,
        features,
      );
      const positions = prompt.map((_, i) => i);
      const ref = referenceLogits(model.config, model.weights, {
        inputsEmbeds: embeds,
        positionIds: positions,
      });
      const pre = await runDecoder(
        model,
        fp32.decoder,
        embeds,
        positions,
        positions.map(() => 1),
        null,
      );
      expect(maxAbsDiff(pre.logits, ref.logits)).toBeLessThan(TOL);
      expectCacheClose(model, pre.present, ref.present, TOL);

      // Greedy decode with the ONNX cache; every step must equal the reference recomputing the whole sequence.
      const ids = [...prompt];
      let allEmbeds = embeds;
      let past = pre.present;
      let next = argmaxRow(pre.logits, vocab, prompt.length - 1);
      for (let step = 0; step < 5; step++) {
        ids.push(next);
        const stepEmbeds = referenceEmbed(model.config, model.weights, [next]);
        const merged = new Float64Array(allEmbeds.length + stepEmbeds.length);
        merged.set(allEmbeds);
        merged.set(stepEmbeds, allEmbeds.length);
        allEmbeds = merged;
        const out = await runDecoder(
          model,
          fp32.decoder,
          stepEmbeds,
          [ids.length - 1],
          ids.map(() => 1),
          past,
          1,
        );
        const full = referenceLogits(model.config, model.weights, {
          inputsEmbeds: allEmbeds,
          positionIds: ids.map((_, i) => i),
        });
        expect(out.logits).toHaveLength(vocab);
        expect(maxAbsDiff(out.logits, full.logits.subarray((ids.length - 1) * vocab))).toBeLessThan(TOL);
        expectCacheClose(model, out.present, full.present, TOL);
        past = out.present;
        next = argmaxRow(out.logits, vocab, 0);
      }
    });

    it('left padding with a mask and cumsum position ids matches the reference', async () => {
      const { vocab } = textDims(model.config);
      const ids = [
        model.config.text_config.vocab_size - 1,
        model.config.text_config.vocab_size - 1,
        1,
        50,
        60,
        70,
      ];
      const mask = [0, 0, 1, 1, 1, 1];
      const positions = referencePositionIds(mask);
      const embeds = referenceEmbed(model.config, model.weights, ids);
      const ref = referenceLogits(model.config, model.weights, {
        inputsEmbeds: embeds,
        positionIds: positions,
        attentionMask: mask,
      });
      const out = await runDecoder(model, fp32.decoder, embeds, positions, mask, null);
      // Rows of padding queries attend to nothing; only the real tokens' logits are defined.
      expect(maxAbsDiff(out.logits.subarray(2 * vocab), ref.logits.subarray(2 * vocab))).toBeLessThan(TOL);
      const plain = referencePrefill(model.config, model.weights, ids.slice(2));
      expect(maxAbsDiff(out.logits.subarray(2 * vocab), plain.logits)).toBeLessThan(TOL);
    });

    for (const [dtype, suffix, tol] of [
      ['q8', '_quantized', 0.06],
      ['q4', '_q4', 0.3],
    ] as const) {
      it(`the ${dtype} variant stays close to the reference`, async () => {
        const { vocab } = textDims(model.config);
        const s = await openSessions(model.dir, suffix);
        try {
          const px = seededPixels(imageSize, 4);
          const vis = await s.vision.run({
            pixel_values: new ort.Tensor('float32', px, [1, 3, imageSize, imageSize]),
          });
          const refFeatures = referenceImageFeatures(model.config, model.weights, { data: px }).features;
          const featErr = relativeError(vis.image_features!.data as Float32Array, refFeatures);
          const emb = await s.embed.run({ input_ids: int64(prompt, [1, prompt.length]) });
          const embeds = Float64Array.from(emb.inputs_embeds!.data as Float32Array);
          const merged = referenceMergeImageFeatures(model.config, embeds, prompt, refFeatures);
          const positions = prompt.map((_, i) => i);
          const out = await runDecoder(
            model,
            s.decoder,
            merged,
            positions,
            positions.map(() => 1),
            null,
            1,
          );
          const ref = referencePrefill(model.config, model.weights, prompt, { data: px });
          const last = ref.logits.subarray((prompt.length - 1) * vocab);
          const logitErr = relativeError(out.logits, last);
          // Quantisation noise, not a different model (an unrelated model is off by ~1.4). Measured: q8 ~0.03,
          // q4 ~0.15 (4-bit blocks of 32 on 32-wide layers are coarse).
          expect(featErr).toBeLessThan(tol);
          expect(logitErr).toBeLessThan(tol);
          expect(featErr).toBeGreaterThan(0);
        } finally {
          for (const x of Object.values(s)) await x.release();
        }
      });
    }
  });
}
