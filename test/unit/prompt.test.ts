// Prompt templates (exact strings) and `<image>` expansion to the encoder's feature counts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  LLAVA_V1_SYSTEM,
  VICUNA_V1_SYSTEM,
  renderPrompt,
  templateUsesContentParts,
  tokenizePrompt,
} from '../../src/engine/prompt';
import { createTokenizer, type TextTokenizer } from '../../src/engine/tokenizer';
import type { ChatMessage, RawImage } from '../../src/shared/protocol';
import { getTinyModel } from '../fixtures/tiny-model';

const img: RawImage = { width: 1, height: 1, data: new Uint8Array(4) };
const json = (dir: string, f: string): unknown => JSON.parse(readFileSync(path.join(dir, f), 'utf8'));

let llama: TextTokenizer;
let qwen: TextTokenizer;

beforeAll(() => {
  const a = getTinyModel('tiny').dir;
  llama = createTokenizer(json(a, 'tokenizer.json'), json(a, 'tokenizer_config.json'));
  const b = getTinyModel('tiny-qwen-siglip').dir;
  qwen = createTokenizer(json(b, 'tokenizer.json'), json(b, 'tokenizer_config.json'));
});

const conversation: ChatMessage[] = [
  {
    role: 'user',
    content: [
      { type: 'image', image: img },
      { type: 'text', text: 'What is this?' },
    ],
  },
  { role: 'assistant', content: 'A cat.' },
  { role: 'user', content: 'What colour?' },
];

describe('LLaVA conversation templates', () => {
  it('vicuna_v1 renders the Vicuna v1 system prompt, USER/ASSISTANT turns and </s> after answers', () => {
    const r = renderPrompt(conversation, 'vicuna_v1', llama, '<image>');
    expect(r.text).toBe(
      `${VICUNA_V1_SYSTEM} USER: <image>\nWhat is this? ASSISTANT: A cat.</s>USER: What colour? ASSISTANT:`,
    );
    expect(r.imageCount).toBe(1);
    expect(r.addSpecialTokens).toBe(true);
  });

  it('llava_v1 uses the LLaVA v1 system prompt; a system message replaces it', () => {
    const one: ChatMessage[] = [
      {
        role: 'user',
        content: [
          { type: 'image', image: img },
          { type: 'text', text: 'Hi' },
        ],
      },
    ];
    expect(renderPrompt(one, 'llava_v1', llama, '<image>').text).toBe(
      `${LLAVA_V1_SYSTEM} USER: <image>\nHi ASSISTANT:`,
    );
    const withSystem: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, ...one];
    expect(renderPrompt(withSystem, 'llava_v1', llama, '<image>').text).toBe(
      'Be brief. USER: <image>\nHi ASSISTANT:',
    );
  });

  it('puts one placeholder per image first in its turn and strips placeholders typed by the user', () => {
    const two: ChatMessage[] = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Compare <image> these' },
          { type: 'image', image: img },
          { type: 'image', image: img },
        ],
      },
    ];
    expect(renderPrompt(two, 'llava_v1', llama, '<image>').text).toBe(
      `${LLAVA_V1_SYSTEM} USER: <image>\n<image>\nCompare  these ASSISTANT:`,
    );
  });
});

describe("the model's own chat template", () => {
  it('renders the Vicuna-style llava-hf template through @huggingface/jinja', () => {
    expect(llama.chatTemplate).not.toBeNull();
    expect(templateUsesContentParts(llama.chatTemplate as string)).toBe(true);
    const r = renderPrompt(conversation, 'model', llama, '<image>');
    expect(r.text).toBe(
      `${LLAVA_V1_SYSTEM} USER: <image>\nWhat is this? ASSISTANT: A cat.</s>USER: What colour? ASSISTANT:`,
    );
    expect(r.addSpecialTokens).toBe(true);
  });

  it('renders ChatML for the Qwen-family model, with no BOS added', () => {
    const r = renderPrompt(conversation, 'model', qwen, '<image>');
    expect(r.text).toBe(
      '<|im_start|>user\n<image>\nWhat is this?<|im_end|>\n<|im_start|>assistant\nA cat.<|im_end|>\n' +
        '<|im_start|>user\nWhat colour?<|im_end|>\n<|im_start|>assistant\n',
    );
    const ids = qwen.encode(r.text, r.addSpecialTokens);
    expect(ids[0]).toBe(qwen.tokenToId('<|im_start|>'));
  });

  it('detects templates that read string content only', () => {
    expect(templateUsesContentParts("{{ message['content'] }}")).toBe(false);
    expect(
      templateUsesContentParts("{% for c in m['content'] | selectattr('type', 'equalto', 'image') %}"),
    ).toBe(true);
  });
});

describe('image token expansion', () => {
  it("expands each <image> to its image's feature rows, in order, after a BOS", () => {
    const imageId = llama.tokenToId('<image>') as number;
    const twoImages: ChatMessage[] = [
      {
        role: 'user',
        content: [
          { type: 'image', image: img },
          { type: 'text', text: 'a' },
        ],
      },
      { role: 'assistant', content: 'b' },
      {
        role: 'user',
        content: [
          { type: 'image', image: img },
          { type: 'text', text: 'c' },
        ],
      },
    ];
    const r = renderPrompt(twoImages, 'llava_v1', llama, '<image>');
    const t = tokenizePrompt(r, llama, imageId, [3, 5]);
    expect(t.ids[0]).toBe(1);
    expect(t.imageSpans.map((s) => s.length)).toEqual([3, 5]);
    for (const s of t.imageSpans) {
      expect(t.ids.slice(s.start, s.start + s.length).every((id) => id === imageId)).toBe(true);
      expect(t.ids[s.start - 1]).not.toBe(imageId);
      expect(t.ids[s.start + s.length]).not.toBe(imageId);
    }
    expect(t.ids.filter((id) => id === imageId).length).toBe(8);
    // Outside the image runs the ids are exactly the tokenizer's.
    const raw = llama.encode(r.text, true);
    expect(t.ids.filter((id) => id !== imageId)).toEqual(raw.filter((id) => id !== imageId));
  });

  it('rejects a prompt whose placeholders do not match the images', () => {
    const imageId = llama.tokenToId('<image>') as number;
    const r = renderPrompt([{ role: 'user', content: 'no image here' }], 'llava_v1', llama, '<image>');
    expect(() => tokenizePrompt(r, llama, imageId, [16])).toThrowError(
      expect.objectContaining({ code: 'inference-failed' }),
    );
  });
});
