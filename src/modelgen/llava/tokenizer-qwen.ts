// Owns the Qwen2-style tokenizer.json of generated models (GPT-2 byte-level BPE, Qwen2's split regex, ChatML
// specials, no BOS added), built to an exact vocabulary size from the corpus. Pure and deterministic.

import { TOKENIZER_CORPUS } from './tokenizer-corpus';
import { growVocabulary } from './tokenizer-bpe';
import {
  addedToken,
  IMAGE_TOKEN,
  PAD_TOKEN,
  vocabObject,
  withoutSpecials,
  type BuiltTokenizer,
  type SpecialTokenIds,
  type TokenizerBuildOptions,
  type TokenizerJson,
} from './tokenizer-json';

export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';
export const END_OF_TEXT = '<|endoftext|>';

/** Qwen2's pre-tokenizer pattern as its tokenizer.json stores it (Oniguruma syntax). */
export const QWEN2_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** The same pattern in JavaScript syntax (no inline case-insensitive group), for learning merges. */
const QWEN2_SPLIT_JS =
  /'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** GPT-2's reversible byte → printable character table. */
function byteLevelAlphabet(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return table;
}

/**
 * Builds a Qwen2-style tokenizer of exactly `vocabSize` ids: `<|im_start|>` 0, `<|endoftext|>` 1 (config's BOS id,
 * never added to prompts), `<|im_end|>` 2 (EOS), the 256 byte-level characters, merges learned from the corpus,
 * padding merges (token + ASCII letter), then `<image>` = vocabSize-2 and `<pad>` = vocabSize-1.
 *
 * @throws Error when `vocabSize` cannot hold the special and byte tokens.
 */
export function buildQwenTokenizer(options: TokenizerBuildOptions): BuiltTokenizer {
  const { vocabSize } = options;
  const corpus = options.corpus ?? TOKENIZER_CORPUS;
  const modelSize = vocabSize - 2;
  if (modelSize < 3 + 256 + 1)
    throw new Error(`vocab_size ${vocabSize} is too small: need at least 262 tokens.`);
  const byteChars = byteLevelAlphabet();
  const encoder = new TextEncoder();
  const toByteLevel = (s: string): string => Array.from(encoder.encode(s), (b) => byteChars[b]!).join('');

  const words = new Map<string, number>();
  for (const line of corpus) {
    const text = withoutSpecials(line, [
      IMAGE_TOKEN,
      PAD_TOKEN,
      IM_START,
      IM_END,
      END_OF_TEXT,
      '</s>',
      '<s>',
    ]);
    for (const piece of text.match(QWEN2_SPLIT_JS) ?? []) {
      const w = toByteLevel(piece);
      words.set(w, (words.get(w) ?? 0) + 1);
    }
  }
  const tokens: string[] = [IM_START, END_OF_TEXT, IM_END, ...byteChars];
  const letters = 'etaoinshrdlucmfwypvbgkqjxz'.split('');
  const { merges, learned } = growVocabulary(tokens, words, modelSize, 3, letters);

  const vocab = vocabObject(tokens);
  tokens.push(IMAGE_TOKEN, PAD_TOKEN);
  const ids: SpecialTokenIds = { unk: null, bos: 1, eos: 2, image: vocabSize - 2, pad: vocabSize - 1 };
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  const json: TokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      addedToken(0, IM_START),
      addedToken(1, END_OF_TEXT),
      addedToken(2, IM_END),
      addedToken(ids.image, IMAGE_TOKEN),
      addedToken(ids.pad, PAD_TOKEN),
    ],
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        byteLevel,
      ],
    },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  return {
    family: 'qwen2',
    json,
    tokens,
    ids,
    special: { bos: null, eos: IM_END, unk: null, pad: PAD_TOKEN, image: IMAGE_TOKEN },
    learnedMerges: learned,
  };
}
