// Replica of llava-hf/llava-interleave-qwen-0.5b-hf from its published files (test/fixtures/replicas/published.ts):
// the engine reads its facts, puts the prompt ids transformers.js's LlavaProcessor puts (729 image tokens), answers
// with the same greedy tokens from the same pixels, and carries a conversation through the published template.
import { describe, expect, it } from 'vitest';
import { renderPrompt } from '../../src/engine/prompt';
import { catalogEntry } from '../../src/store/catalog';
import type { ChatMessage } from '../../src/shared/protocol';
import { RawImage as HfRawImage } from '@huggingface/transformers';
import { LLAVA_INTERLEAVE as P } from '../fixtures/replicas/published';
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

describe('replica: llava-interleave-qwen-0.5b (published files)', () => {
  const replica = useReplica(P);

  it('reads the published facts: <image> 151646, 729 features, EOS <|im_end|>, MHA 16×64, 32k context', () => {
    const side = replica();
    const c = publishedConfig(P);
    expect(c.imageTokenId).toBe(151646);
    expect(c.estimatedImageFeatures).toBe(729);
    expect(c.eosTokenIds).toEqual([151645]);
    expect(c.text).toMatchObject({
      numKeyValueHeads: 16,
      headDim: 64,
      contextLength: 32768,
      vocabSize: 152000,
    });
    expect(c.image).toMatchObject({ mode: 'plain', size: { height: 384, width: 384 } });
    expect(catalogEntry(P.key)?.architecture.value).toBe(P.config.model_type);
    expect(side.ours.imageToken).toBe('<image>');
    expect(side.ours.tokenizer.tokenToId('<|im_end|>')).toBe(151645);
  });

  it("puts transformers.js's prompt ids and answers with its greedy tokens from the same pixels", async () => {
    const side = replica();
    const image = picture(50, 40, 3);
    const messages: ChatMessage[] = [imageTurn(image, 'What is in this picture?')];
    const rendered = renderPrompt(messages, 'model', side.ours.tokenizer, side.ours.imageToken);
    const inputs = await side.processor(
      new HfRawImage(image.data, image.width, image.height, 4),
      rendered.text,
    );
    const theirIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
    const { pixels, input } = await ourInput(side, messages, image);
    expect(input.ids).toEqual(theirIds);
    expect(input.ids.filter((id) => id === 151646)).toHaveLength(729);
    const ours = await ourGreedy(side, input);
    expect(ours.withEos).toEqual(await theirGreedy(side, theirIds, pixels));
  });

  it('carries a two-turn conversation through the published chat template, as transformers.js renders it', async () => {
    const side = replica();
    const image = picture(30, 30, 5);
    const turns = await ourTwoTurns(side, image, 'A red square.', 'And the colours?');
    const { rendered, input, second, pixels } = turns;
    expect(rendered).toBe(
      theirTemplate(side, [
        { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Describe it.' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'A red square.' }] },
        { role: 'user', content: [{ type: 'text', text: 'And the colours?' }] },
      ]),
    );
    expect(rendered).toBe(
      '<|im_start|>user\n<image>\nDescribe it.<|im_end|>\n<|im_start|>assistant\n\nA red square.<|im_end|>\n' +
        '<|im_start|>user\n\nAnd the colours?<|im_end|>\n<|im_start|>assistant\n',
    );
    const theirIds = Array.from(
      (await side.processor(new HfRawImage(image.data, 30, 30, 4), rendered)).input_ids.data as BigInt64Array,
      Number,
    );
    expect(input.ids).toEqual(theirIds);
    expect(second.usage.reusedPromptTokens).toBeGreaterThan(729);
    expect(second.withEos).toEqual(await theirGreedy(side, theirIds, pixels));
  });
});
