// Replica of Xenova/nanoLLaVA from its published facts (test/fixtures/replicas/published.ts). Its <image> token has
// id -200 (LLaVA's IMAGE_TOKEN_INDEX), which get_vocab() leaves out: the engine finds it the way the tokenizer encodes
// "<image>" and expands that one placeholder into the 729 image features, as nanoLLaVA's Python code does
// (prepare_inputs_labels_for_multimodal splices the features in at IMAGE_TOKEN_INDEX). transformers.js 4.3.1 cannot
// run it as published (it needs one placeholder per feature), so its generate() is fed Python's expansion instead.
// nanoLLaVA was trained with image_aspect_ratio "pad": the engine pads to a square with the mean colour first (LLaVA's
// expand2square); transformers.js's SiglipImageProcessor squashes the picture instead. Greedy parity uses the same
// pixel values on both sides, so that difference stays out of it and is checked on its own.
import { describe, expect, it } from 'vitest';
import { preprocessImage } from '../../src/engine/image-preprocess';
import { renderPrompt } from '../../src/engine/prompt';
import type { ChatMessage } from '../../src/shared/protocol';
import { NANOLLAVA as P } from '../fixtures/replicas/published';
import {
  imageTurn,
  publishedConfig,
  ourGreedy,
  ourInput,
  picture,
  theirGreedy,
  useReplica,
} from './helpers/replica-check';

const IMAGE = -200;

describe('replica: nanoLLaVA (published facts, <image> = -200)', () => {
  const replica = useReplica(P);

  it('loads: the image token is found by encoding "<image>" (-200), not in get_vocab()', () => {
    const side = replica();
    const c = publishedConfig(P);
    expect(c.imageTokenId).toBe(IMAGE);
    expect(c.estimatedImageFeatures).toBe(729);
    expect(c.eosTokenIds).toEqual([151645]);
    expect(c.image.mode).toBe('pad');
    expect(c.text).toMatchObject({ numKeyValueHeads: 16, headDim: 64, vocabSize: 151936 });
    expect(side.ours.imageToken).toBe('<image>');
    expect(side.ours.config.imageTokenId).toBe(IMAGE);
    expect(side.tokenizer.get_vocab().get('<image>')).toBeUndefined();
  });

  it("renders Qwen1.5's ChatML with one -200 placeholder, expands it to 729 features, and answers like Python's expansion", async () => {
    const side = replica();
    const image = picture(40, 40, 2);
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Answer the question.' },
      imageTurn(image, 'What does the text say?'),
    ];
    const rendered = renderPrompt(messages, 'model', side.ours.tokenizer, side.ours.imageToken);
    // The model card's own usage: system message, then "<image>\n" before the question.
    const theirText = side.tokenizer.apply_chat_template(
      [
        { role: 'system', content: 'Answer the question.' },
        { role: 'user', content: '<image>\nWhat does the text say?' },
      ],
      { tokenize: false, add_generation_prompt: true },
    ) as string;
    expect(rendered.text).toBe(theirText);
    const theirIds = Array.from(side.tokenizer(theirText).input_ids.data as BigInt64Array, Number);
    expect(theirIds.filter((id) => id === IMAGE)).toHaveLength(1);

    const { pixels, input } = await ourInput(side, messages, image);
    expect(input.rawIds).toEqual(theirIds);
    const at = theirIds.indexOf(IMAGE);
    const pythonExpanded = [
      ...theirIds.slice(0, at),
      ...Array<number>(729).fill(IMAGE),
      ...theirIds.slice(at + 1),
    ];
    expect(input.ids).toEqual(pythonExpanded);

    await expect(theirGreedy(side, theirIds, pixels)).rejects.toThrow(/tokens: 1, features 729/);
    const ours = await ourGreedy(side, input);
    expect(ours.ids.length).toBeGreaterThan(0);
    expect(ours.withEos).toEqual(await theirGreedy(side, pythonExpanded, pixels));
  });

  it('pads a wide picture to a square with the mean colour before resizing, as nanoLLaVA was trained', () => {
    const side = replica();
    const wide = picture(80, 20, 4);
    const px = preprocessImage(wide, side.ours.config.image);
    expect([px.width, px.height]).toEqual([384, 384]);
    // Top rows are the mean colour (0.5 in 0..1), which normalises to 0 with mean = std = 0.5.
    const plane = px.width * px.height;
    for (const c of [0, 1, 2]) {
      expect(Math.abs(px.data[c * plane + 2 * px.width + 190] as number)).toBeLessThan(0.01);
    }
    // …while the middle rows hold the picture.
    const middle = Array.from({ length: 40 }, (_, i) => px.data[192 * px.width + i * 9] as number);
    expect(middle.some((v) => Math.abs(v) > 0.1)).toBe(true);
  });
});
