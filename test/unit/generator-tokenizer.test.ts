// Checks the generated tokenizers (Llama SentencePiece-BPE and Qwen2 byte-level): exact sizes, valid BPE tables,
// lossless round trips through byte fallback / byte-level, and that transformers.js 4.3.1 loads them offline with
// their chat templates.

import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import {
  buildLlamaTokenizer,
  buildTokenizer,
  SPIECE_SPACE,
  type BuiltTokenizer,
} from '../../src/modelgen/llava/tokenizer-builder';
import { buildQwenTokenizer } from '../../src/modelgen/llava/tokenizer-qwen';
import { tokenizerConfigJson, VICUNA_SYSTEM_PROMPT } from '../../src/modelgen/llava/config-files';
import { getPreset } from '../../src/modelgen/llava/presets';
import { offlineModelId } from '../fixtures/transformers-offline';

const SAMPLES = [
  'Describe the image.',
  'There are 3 red circles and a blue square in the top left corner!',
  '  two leading spaces and  double  spaces  ',
  'Ünïcödé, 日本語, Ελληνικά — and emoji 🐱🎨👍🏽 mixed in.',
  'line one\nline two\ttabbed',
  '<div class="x">code</div>; f(x) = x * 2;',
];

function checkTables(built: BuiltTokenizer, vocabSize: number): void {
  const { json, tokens, ids } = built;
  expect(tokens).toHaveLength(vocabSize);
  expect(new Set(tokens).size).toBe(vocabSize);
  expect(ids.eos).toBe(2);
  expect(ids.bos).toBe(1);
  expect(ids.image).toBe(vocabSize - 2);
  expect(ids.pad).toBe(vocabSize - 1);
  expect(tokens.slice(-2)).toEqual(['<image>', '<pad>']);
  const vocab = json.model.vocab;
  expect(Object.keys(vocab)).toHaveLength(vocabSize - 2);
  // Plain loops collecting offenders: tens of thousands of expect() calls would dominate the run time.
  const misplaced = Object.entries(vocab).filter(([t, id]) => tokens[id] !== t);
  expect(misplaced).toEqual([]);
  const invalid = json.model.merges.filter((m) => {
    const parts = m.split(' ');
    const [a, b] = parts as [string, string];
    return (
      parts.length !== 2 || vocab[a] === undefined || vocab[b] === undefined || vocab[a + b] === undefined
    );
  });
  expect(invalid).toEqual([]);
}

describe('buildLlamaTokenizer', () => {
  it('fills the tiny vocabulary exactly with valid merges', () => {
    const built = buildLlamaTokenizer({ vocabSize: 512 });
    checkTables(built, 512);
    expect(built.ids.unk).toBe(0);
    expect(built.tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    expect(built.tokens[3]).toBe('<0x00>');
    expect(built.tokens[258]).toBe('<0xFF>');
    expect(built.learnedMerges).toBeGreaterThan(100);
    // Like SentencePiece, a word boundary only ever starts a token.
    expect(built.tokens.filter((t) => t.indexOf(SPIECE_SPACE, 1) !== -1)).toEqual([]);
  });

  it('pads a 32000-id vocabulary with further valid merges', () => {
    const built = buildLlamaTokenizer({ vocabSize: 32000 });
    checkTables(built, 32000);
    expect(built.json.model.merges.length).toBeGreaterThan(built.learnedMerges);
    expect(built.tokens.filter((t) => t.indexOf(SPIECE_SPACE, 1) !== -1)).toEqual([]);
  });

  it('is deterministic', () => {
    const a = JSON.stringify(buildLlamaTokenizer({ vocabSize: 700 }).json);
    const b = JSON.stringify(buildLlamaTokenizer({ vocabSize: 700 }).json);
    expect(a).toBe(b);
  });

  it('rejects a vocabulary too small for the bytes and the alphabet', () => {
    expect(() => buildLlamaTokenizer({ vocabSize: 300 })).toThrow(/too small/);
  });
});

describe('buildQwenTokenizer', () => {
  it('fills tiny and 32000-id vocabularies with valid byte-level merges', () => {
    for (const size of [512, 32000]) {
      const built = buildQwenTokenizer({ vocabSize: size });
      checkTables(built, size);
      expect(built.tokens.slice(0, 3)).toEqual(['<|im_start|>', '<|endoftext|>', '<|im_end|>']);
      expect(built.tokens[3 + 0x20]).toBe('Ġ');
    }
  });

  it('is chosen for qwen2 configs', () => {
    expect(buildTokenizer(getPreset('tiny-qwen-siglip')).family).toBe('qwen2');
    expect(buildTokenizer(getPreset('tiny')).family).toBe('llama');
  });
});

describe('generated tokenizers in transformers.js', () => {
  let root: string;
  const loaded = new Map<string, PreTrainedTokenizer>();
  const cases: Array<[string, BuiltTokenizer]> = [
    ['llama-512', buildLlamaTokenizer({ vocabSize: 512 })],
    ['llama-32000', buildLlamaTokenizer({ vocabSize: 32000 })],
    ['qwen-512', buildQwenTokenizer({ vocabSize: 512 })],
  ];

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'tok-'));
    for (const [name, built] of cases) {
      const dir = path.join(root, name);
      mkdirSync(dir);
      const config = getPreset(built.family === 'llama' ? 'tiny' : 'tiny-qwen-siglip');
      writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(built.json));
      writeFileSync(
        path.join(dir, 'tokenizer_config.json'),
        JSON.stringify(tokenizerConfigJson(config, built)),
      );
      loaded.set(name, await AutoTokenizer.from_pretrained(offlineModelId(dir)));
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const [name, built] of cases) {
    it(`round-trips text, emoji and non-ASCII losslessly (${name})`, () => {
      const tok = loaded.get(name)!;
      const size = built.tokens.length;
      for (const text of SAMPLES) {
        const ids = tok.encode(text);
        // Llama adds BOS; Qwen2 adds nothing.
        if (built.family === 'llama') expect(ids[0]).toBe(1);
        else expect(ids).not.toContain(1);
        expect(ids.every((id) => id >= 3 || id === built.ids.bos)).toBe(true);
        expect(ids.every((id) => id < size - 2)).toBe(true);
        expect(tok.decode(ids, { skip_special_tokens: true })).toBe(text);
      }
    });
  }

  it('spells characters outside the corpus with byte-fallback tokens (Llama)', () => {
    const tok = loaded.get('llama-512')!;
    const ids = tok.encode('🐱', { add_special_tokens: false });
    expect(ids.slice(-4)).toEqual([0xf0, 0x9f, 0x90, 0xb1].map((b) => b + 3));
  });

  it('keeps <image> and the EOS token as single special ids', () => {
    const small = loaded.get('llama-512')!;
    const ids = small.encode('USER: <image>\nWhat is it? ASSISTANT: A cat.</s>');
    expect(ids.filter((id) => id === 510)).toHaveLength(1);
    expect(ids.at(-1)).toBe(2);
    const qwen = loaded.get('qwen-512')!;
    const q = qwen.encode('<|im_start|>user\n<image>\nHi<|im_end|>\n');
    expect(q[0]).toBe(0);
    expect(q.filter((id) => id === 510)).toHaveLength(1);
    expect(q).toContain(2);
    expect(qwen.eos_token_id).toBe(2);
    // A bigger vocabulary spends fewer tokens on the same text.
    const text = SAMPLES[1]!;
    expect(loaded.get('llama-32000')!.encode(text).length).toBeLessThan(small.encode(text).length);
  });

  it('renders the Vicuna template with image parts first and a generation prompt', () => {
    const prompt = loaded.get('llama-512')!.apply_chat_template(
      [
        { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image' }] },
        { role: 'assistant', content: 'A red circle.' },
        { role: 'user', content: 'Where?' },
      ],
      { tokenize: false, add_generation_prompt: true },
    );
    expect(prompt).toBe(
      `${VICUNA_SYSTEM_PROMPT} USER: <image>\nWhat is this? ASSISTANT: A red circle.</s>USER: Where? ASSISTANT:`,
    );
    const withSystem = loaded.get('llama-512')!.apply_chat_template(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      { tokenize: false, add_generation_prompt: false },
    );
    expect(withSystem).toBe('Be brief. USER: Hi ');
  });

  it('renders the ChatML template for the Qwen flavour', () => {
    const prompt = loaded.get('qwen-512')!.apply_chat_template(
      [
        { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image' }] },
        { role: 'assistant', content: 'A red circle.' },
        { role: 'user', content: 'Where?' },
      ],
      { tokenize: false, add_generation_prompt: true },
    );
    expect(prompt).toBe(
      '<|im_start|>user\n<image>\nWhat is this?<|im_end|>\n<|im_start|>assistant\nA red circle.<|im_end|>\n' +
        '<|im_start|>user\nWhere?<|im_end|>\n<|im_start|>assistant\n',
    );
  });
});
