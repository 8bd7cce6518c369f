// Checks that generated model folders load offline in transformers.js 4.3.1 (LlavaForConditionalGeneration +
// AutoProcessor), that its processor puts exactly as many image tokens as the vision encoder returns features, and
// that its greedy generate() produces the same tokens as the float64 reference; q8 and q4 variants load and run.

import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AutoProcessor,
  LlavaForConditionalGeneration,
  RawImage,
  type Processor,
  type Tensor,
} from '@huggingface/transformers';
import type { PresetName } from '../../src/modelgen/llava/presets';
import {
  argmaxRow,
  referenceEmbed,
  referenceLogits,
  referencePrefill,
  textDims,
} from '../fixtures/reference';
import { getTinyModel, type TinyModel } from '../fixtures/tiny-model';
import { offlineModelId } from '../fixtures/transformers-offline';

function testImage(width: number, height: number): RawImage {
  const data = new Uint8ClampedArray(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + ((i / 3) | 0) * 11) % 256;
  return new RawImage(data, width, height, 3);
}

/** Greedy decoding with the float64 reference, stopping at EOS like generate() does. */
function referenceGreedy(model: TinyModel, ids: number[], pixels: Float32Array, maxNew: number): number[] {
  const { vocab } = textDims(model.config);
  const eos = model.config.text_config.eos_token_id;
  let out = referencePrefill(model.config, model.weights, ids, { data: pixels });
  const generated: number[] = [];
  let next = argmaxRow(out.logits, vocab, ids.length - 1);
  while (generated.length < maxNew) {
    generated.push(next);
    if (next === eos) break;
    out = referenceLogits(model.config, model.weights, {
      inputsEmbeds: referenceEmbed(model.config, model.weights, [next]),
      positionIds: [ids.length + generated.length - 1],
      past: out.present,
    });
    next = argmaxRow(out.logits, vocab, 0);
  }
  return generated;
}

function idsOf(t: Tensor): number[] {
  return Array.from(t.data as BigInt64Array, Number);
}

for (const preset of ['tiny', 'tiny-qwen-siglip'] as PresetName[]) {
  describe(`transformers.js 4.3.1 loads the generated ${preset} folder offline`, () => {
    let model: TinyModel;
    let id: string;
    let processor: Processor;
    let inputs: { input_ids: Tensor; attention_mask: Tensor; pixel_values: Tensor };

    beforeAll(async () => {
      model = getTinyModel(preset, { dtypes: ['fp32', 'q8', 'q4'] });
      id = offlineModelId(model.dir);
      processor = await AutoProcessor.from_pretrained(id);
      const prompt = processor.apply_chat_template(
        [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in the picture?' }] }],
        { add_generation_prompt: true },
      ) as string;
      inputs = (await processor(testImage(48, 40), prompt)) as typeof inputs;
    });

    it('expands <image> to exactly the vision encoder feature count', async () => {
      const size = model.config.vision_config.image_size;
      expect(inputs.pixel_values.dims).toEqual([1, 3, size, size]);
      const session = await ort.InferenceSession.create(path.join(model.dir, 'onnx', 'vision_encoder.onnx'));
      const out = await session.run({
        pixel_values: new ort.Tensor('float32', inputs.pixel_values.data as Float32Array, [1, 3, size, size]),
      });
      await session.release();
      const imageTokens = idsOf(inputs.input_ids).filter((t) => t === model.config.image_token_index).length;
      expect(imageTokens).toBe(out.image_features!.dims[1]);
      expect(imageTokens).toBe((size / model.config.vision_config.patch_size) ** 2);
    });

    it('tokenizes the chat prompt as the family does (BOS for Llama only)', () => {
      const ids = idsOf(inputs.input_ids);
      if (preset === 'tiny') expect(ids[0]).toBe(1);
      else expect(ids[0]).toBe(0); // <|im_start|>
      expect(ids.filter((t) => t === 1)).toHaveLength(preset === 'tiny' ? 1 : 0);
    });

    it('greedy generate() gives the float64 reference tokens (fp32)', async () => {
      const llava = await LlavaForConditionalGeneration.from_pretrained(id, { dtype: 'fp32' });
      try {
        const maxNew = 8;
        const out = (await llava.generate({ ...inputs, max_new_tokens: maxNew, do_sample: false })) as Tensor;
        const promptIds = idsOf(inputs.input_ids);
        const generated = idsOf(out).slice(promptIds.length);
        expect(generated.length).toBeGreaterThan(0);
        const expected = referenceGreedy(model, promptIds, inputs.pixel_values.data as Float32Array, maxNew);
        expect(generated).toEqual(expected);
      } finally {
        await llava.dispose();
      }
    });

    for (const dtype of ['q8', 'q4'] as const) {
      it(`loads and generates with the ${dtype} files`, async () => {
        const llava = await LlavaForConditionalGeneration.from_pretrained(id, { dtype });
        try {
          const out = (await llava.generate({ ...inputs, max_new_tokens: 4, do_sample: false })) as Tensor;
          const promptLength = inputs.input_ids.dims[1]!;
          expect(out.dims[1]).toBeGreaterThan(promptLength);
          expect(idsOf(out).every((t) => t >= 0 && t < model.config.text_config.vocab_size)).toBe(true);
        } finally {
          await llava.dispose();
        }
      });
    }
  });
}
