// Owns building the generated models' tokenizer.json: the Llama flavour here (SentencePiece BPE with byte fallback)
// and the dispatch by text model type (Qwen2's byte-level flavour lives in tokenizer-qwen.ts). Pure: no I/O, no
// randomness; the same options always give the same JSON.

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
  type TokenizerFamily,
  type TokenizerJson,
} from './tokenizer-json';
import { buildQwenTokenizer } from './tokenizer-qwen';
import type { LlavaHfConfig } from './types';

export * from './tokenizer-json';

/** The SentencePiece word-boundary mark that stands for a space inside tokens. */
export const SPIECE_SPACE = '\u2581';

const UNK = '<unk>';
const BOS = '<s>';
const EOS = '</s>';

function byteToken(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

/** Corpus characters by falling frequency; whitespace and astral characters (emoji) stay on byte fallback. */
function corpusAlphabet(corpus: readonly string[]): string[] {
  const freq = new Map<string, number>();
  for (const line of corpus) {
    for (const ch of line) {
      if (/\s/u.test(ch) || ch.codePointAt(0)! > 0xffff) continue;
      freq.set(ch, (freq.get(ch) ?? 0) + 1);
    }
  }
  freq.set(SPIECE_SPACE, Number.MAX_SAFE_INTEGER);
  return [...freq.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([ch]) => ch);
}

/** SentencePiece words ("▁word"); characters outside the alphabet break words, so merges never span them. */
function spieceWords(corpus: readonly string[], alphabet: ReadonlySet<string>): Map<string, number> {
  const counts = new Map<string, number>();
  const bump = (w: string): void => {
    if (w.length > 0) counts.set(w, (counts.get(w) ?? 0) + 1);
  };
  for (const line of corpus) {
    for (const raw of withoutSpecials(line, [IMAGE_TOKEN, EOS, BOS, UNK, PAD_TOKEN]).split(' ')) {
      if (raw.length === 0) continue;
      let word = SPIECE_SPACE;
      for (const ch of raw) {
        if (alphabet.has(ch)) {
          word += ch;
        } else {
          bump(word);
          word = '';
        }
      }
      bump(word);
    }
  }
  return counts;
}

/**
 * Builds a Llama-style tokenizer of exactly `vocabSize` ids: `<unk>` 0, `<s>` 1, `</s>` 2, the 256 byte tokens
 * `<0x00>`..`<0xFF>`, the corpus alphabet, merges learned from the corpus, then further valid merges (existing token
 * + one character, never putting ▁ inside a token) up to the size, and `<image>` = vocabSize-2, `<pad>` =
 * vocabSize-1 as added special tokens. Normaliser, post-processor and decoder are those of Llama tokenizers on the
 * hub (prepend ▁, spaces to ▁, BOS added; ▁ to space, ByteFallback, Fuse, strip one leading space).
 *
 * @throws Error when `vocabSize` cannot hold the special, byte and alphabet tokens.
 */
export function buildLlamaTokenizer(options: TokenizerBuildOptions): BuiltTokenizer {
  const { vocabSize } = options;
  const corpus = options.corpus ?? TOKENIZER_CORPUS;
  const alphabet = corpusAlphabet(corpus);
  const modelSize = vocabSize - 2;
  if (modelSize < 3 + 256 + alphabet.length) {
    throw new Error(
      `vocab_size ${vocabSize} is too small: need at least ${3 + 256 + alphabet.length + 2} tokens.`,
    );
  }
  const tokens: string[] = [UNK, BOS, EOS];
  for (let b = 0; b < 256; b++) tokens.push(byteToken(b));
  tokens.push(...alphabet);
  const { merges, learned } = growVocabulary(
    tokens,
    spieceWords(corpus, new Set(alphabet)),
    modelSize,
    3 + 256,
    alphabet.filter((ch) => ch !== SPIECE_SPACE),
  );

  const vocab = vocabObject(tokens);
  tokens.push(IMAGE_TOKEN, PAD_TOKEN);
  const ids: SpecialTokenIds = { unk: 0, bos: 1, eos: 2, image: vocabSize - 2, pad: vocabSize - 1 };

  const json: TokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      addedToken(ids.unk!, UNK),
      addedToken(ids.bos, BOS),
      addedToken(ids.eos, EOS),
      addedToken(ids.image, IMAGE_TOKEN),
      addedToken(ids.pad, PAD_TOKEN),
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPIECE_SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPIECE_SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: BOS, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: BOS, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: BOS, type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { [BOS]: { id: BOS, ids: [ids.bos], tokens: [BOS] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPIECE_SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: UNK,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  return {
    family: 'llama',
    json,
    tokens,
    ids,
    special: { bos: BOS, eos: EOS, unk: UNK, pad: PAD_TOKEN, image: IMAGE_TOKEN },
    learnedMerges: learned,
  };
}

/** The tokenizer family a config's text model uses. */
export function tokenizerFamily(config: LlavaHfConfig): TokenizerFamily {
  return config.text_config.model_type === 'qwen2' ? 'qwen2' : 'llama';
}

/** Builds the tokenizer that matches a config: Llama flavour for llama, byte-level ChatML flavour for qwen2. */
export function buildTokenizer(config: LlavaHfConfig, corpus?: readonly string[]): BuiltTokenizer {
  const options: TokenizerBuildOptions = { vocabSize: config.text_config.vocab_size };
  if (corpus) options.corpus = corpus;
  return tokenizerFamily(config) === 'qwen2' ? buildQwenTokenizer(options) : buildLlamaTokenizer(options);
}
