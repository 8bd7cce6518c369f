// Replica of llava-hf/llava-onevision-qwen2-0.5b-ov-hf from its published facts. Honest scope: the engine feeds ONE
// 384×384 view (729 image tokens), as transformers.js does; Python's LlavaOnevisionProcessor adds anyres tiles, the
// unpadded grid and one image_newline row per line (1,485 tokens for 384×384, 2,929 for 640×480). The published
// export gives the engine no image_newline (it is a weight of the language side, in no JSON file and, as far as
// transformers.js's use of the graphs shows, in no ONNX input or output), so the catalog says "single 384 px view".
import { describe, expect, it } from 'vitest';
import { renderPrompt } from '../../src/engine/prompt';
import { catalogEntry } from '../../src/store/catalog';
import type { ChatMessage } from '../../src/shared/protocol';
import { LLAVA_ONEVISION as P } from '../fixtures/replicas/published';
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

const IMAGE = 151646;

describe('replica: llava-onevision-qwen2-0.5b-ov (published facts, single 384 px view)', () => {
  const replica = useReplica(P);

  it('reads the published facts: Qwen2 GQA (2 KV heads of 64), <image> 151646, one 729-token view', () => {
    const c = publishedConfig(P);
    expect(c.modelType).toBe('llava_onevision');
    expect(c.imageTokenId).toBe(IMAGE);
    expect(c.text).toMatchObject({ numAttentionHeads: 14, numKeyValueHeads: 2, headDim: 64 });
    expect(c.eosTokenIds).toEqual([151645]);
    expect(c.estimatedImageFeatures).toBe(729);
    // The processor's do_pad is anyres padding, not LLaVA-1.5's expand-to-square: the base view is a plain resize.
    expect(c.image).toMatchObject({ mode: 'plain', size: { height: 384, width: 384 } });
    const entry = catalogEntry(P.key);
    expect(entry?.description).toMatch(/single 384 px view/);
    expect(entry?.description).not.toMatch(/anyres/i);
  });

  it('puts 729 image tokens for any picture size and answers like transformers.js from the same pixels', async () => {
    const side = replica();
    for (const [w, h] of [
      [64, 48],
      [30, 60],
    ] as const) {
      const image = picture(w, h, w);
      const messages: ChatMessage[] = [imageTurn(image, 'What is shown?')];
      const rendered = renderPrompt(messages, 'model', side.ours.tokenizer, side.ours.imageToken);
      expect(rendered.text).toBe(
        theirTemplate(side, [
          { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is shown?' }] },
        ]),
      );
      const { pixels, input } = await ourInput(side, messages, image);
      expect([pixels.width, pixels.height]).toEqual([384, 384]);
      expect(input.ids.filter((id) => id === IMAGE)).toHaveLength(729);
      // transformers.js has no LlavaOnevisionProcessor: its tokenizer leaves one placeholder, which the engine expands.
      const theirRaw = Array.from(side.tokenizer(rendered.text).input_ids.data as BigInt64Array, Number);
      expect(input.rawIds).toEqual(theirRaw);
      const ours = await ourGreedy(side, input);
      expect(ours.ids.length).toBeGreaterThan(0);
      expect(ours.withEos).toEqual(await theirGreedy(side, input.ids, pixels));
    }
  });

  it('carries a two-turn conversation through the published template (<image>\\n first, assistant text as is)', async () => {
    const side = replica();
    const turns = await ourTwoTurns(side, picture(40, 40, 9), 'A blue circle.', 'Where is it?');
    const { rendered, input, second, pixels } = turns;
    expect(rendered).toBe(
      '<|im_start|>user\n<image>\nDescribe it.<|im_end|>\n<|im_start|>assistant\nA blue circle.<|im_end|>\n' +
        '<|im_start|>user\nWhere is it?<|im_end|>\n<|im_start|>assistant\n',
    );
    const theirRaw = Array.from(side.tokenizer(rendered).input_ids.data as BigInt64Array, Number);
    expect(input.rawIds).toEqual(theirRaw);
    expect(second.usage.reusedPromptTokens).toBeGreaterThan(729);
    expect(second.withEos).toEqual(await theirGreedy(side, input.ids, pixels));
  });
});
