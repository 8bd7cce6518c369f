// Replica of a Vicuna LLaVA-1.5 (llava-hf/llava-1.5-7b-hf's published files: CLIP ViT-L/14-336 + LLaMA, <image>
// 32000, <pad> 32001, the USER:/ASSISTANT: chat template), as the converter's folder carries them. Its processor_config
// says num_additional_image_tokens 1 with the "default" strategy: Python's LlavaProcessor then subtracts the dropped
// CLS again (576 image tokens); transformers.js 4.3.1 does not (577) and so cannot run the folder as published. The
// engine counts the encoder's real rows (576), as Python does, and answers like transformers.js fed those ids.
import { RawImage as HfRawImage } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { renderPrompt } from '../../src/engine/prompt';
import type { ChatMessage } from '../../src/shared/protocol';
import { LLAVA15_7B as P } from '../fixtures/replicas/published';
import {
  imageTurn,
  publishedConfig,
  ourGreedy,
  ourInput,
  ourTwoTurns,
  picture,
  theirGreedy,
  theirTemplate,
  useReplica,
} from './helpers/replica-check';

const IMAGE = 32000;

describe('replica: LLaVA-1.5 7B (llava-hf published files, converted layout)', () => {
  const replica = useReplica(P);

  it('reads the published facts: <image> 32000, 576 features (CLS dropped), BOS 1 / EOS 2, 4k context, CLIP crop', () => {
    const side = replica();
    const c = publishedConfig(P);
    expect(c.imageTokenId).toBe(IMAGE);
    expect(c.estimatedImageFeatures).toBe(576);
    expect([c.bosTokenId, c.eosTokenIds, c.padTokenId]).toEqual([1, [2], 32001]);
    // The published text_config names only vocab and context; the rest are LlamaConfig's defaults, as in Python.
    expect(c.text).toEqual({
      modelType: 'llama',
      vocabSize: 32064,
      hiddenSize: 4096,
      numLayers: 32,
      numAttentionHeads: 32,
      numKeyValueHeads: 32,
      headDim: 128,
      contextLength: 4096,
    });
    expect(c.image).toMatchObject({ mode: 'plain', size: { shortestEdge: 336 }, doCenterCrop: true });
    expect(side.ours.tokenizer.tokenToId('<image>')).toBe(IMAGE);
    expect(side.ours.tokenizer.tokenToId('<pad>')).toBe(32001);
  });

  it('puts 576 image tokens where transformers.js puts 577, and answers like it does from those ids', async () => {
    const side = replica();
    const image = picture(60, 45, 6);
    const messages: ChatMessage[] = [imageTurn(image, 'What is in the picture?')];
    const rendered = renderPrompt(messages, 'model', side.ours.tokenizer, side.ours.imageToken);
    expect(rendered.text).toBe('USER: <image>\nWhat is in the picture? ASSISTANT:');
    expect(rendered.text).toBe(
      theirTemplate(side, [
        { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in the picture?' }] },
      ]),
    );
    const theirInputs = await side.processor(new HfRawImage(image.data, 60, 45, 4), rendered.text);
    const theirIds = Array.from(theirInputs.input_ids.data as BigInt64Array, Number);
    expect(theirIds.filter((id) => id === IMAGE)).toHaveLength(577);

    const { pixels, input } = await ourInput(side, messages, image);
    expect(input.ids[0]).toBe(1);
    expect(input.ids.filter((id) => id === IMAGE)).toHaveLength(576);
    // Python's ids: transformers.js's with the one extra image token removed.
    const pythonIds = [...theirIds];
    pythonIds.splice(theirIds.indexOf(IMAGE), 1);
    expect(input.ids).toEqual(pythonIds);
    await expect(theirGreedy(side, theirIds, pixels)).rejects.toThrow(/tokens: 577, features 576/);
    const ours = await ourGreedy(side, input);
    expect(ours.ids.length).toBeGreaterThan(0);
    expect(ours.withEos).toEqual(await theirGreedy(side, input.ids, pixels));
  });

  it('carries a two-turn conversation through the USER:/ASSISTANT: template', async () => {
    const side = replica();
    const turns = await ourTwoTurns(side, picture(36, 36, 8), 'A red square.', 'Where is it?');
    const { rendered, input, second, pixels } = turns;
    expect(rendered).toBe(
      'USER: <image>\nDescribe it. ASSISTANT: A red square. USER: Where is it? ASSISTANT:',
    );
    expect(second.usage.reusedPromptTokens).toBeGreaterThan(576);
    expect(second.withEos).toEqual(await theirGreedy(side, input.ids, pixels));
  });
});
