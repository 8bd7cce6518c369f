// Owns the micro tokenizer: the generator's Llama-style BPE builder fitted to the micro data's own text, and the
// engine's tokenizer wrapper around it, so training tokenises exactly as the engine will at inference. No I/O.

import { buildLlamaTokenizer, type BuiltTokenizer } from '../../modelgen/llava/tokenizer-builder';
import { createTokenizer, type TextTokenizer } from '../../engine/tokenizer';
import { tokenizerConfigJson } from '../../modelgen/llava/config-files';
import type { LlavaHfConfig } from '../../modelgen/llava/types';
import type { LlavaRecord } from '../data/llava-format';
import { microConfig } from './config';
import { SYSTEM_PROMPTS } from './system-prompts';
import { encodeWords, specialSplitter } from './word-tokenizer';

export { SYSTEM_PROMPTS } from './system-prompts';

/** The text the tokenizer's merges are learned from: every string the data set and the prompt format use. */
export function tokenizerCorpus(records: readonly LlavaRecord[]): string[] {
  const lines = new Set<string>([...SYSTEM_PROMPTS, 'USER: ASSISTANT:']);
  for (const r of records) for (const t of r.conversations) lines.add(t.value);
  return [...lines].sort();
}

/** Builds a tokenizer whose vocabulary is exactly the special and byte tokens, the alphabet and the learned merges. */
export function fitTokenizer(corpus: readonly string[]): BuiltTokenizer {
  // A first pass with room to spare learns every merge the corpus has; the second sizes the vocabulary to fit.
  const probe = buildLlamaTokenizer({ vocabSize: 8192, corpus });
  const alphabet = new Set<string>();
  for (const line of corpus) for (const ch of line) if (!/\s/u.test(ch)) alphabet.add(ch);
  const vocabSize = 3 + 256 + alphabet.size + 1 + probe.learnedMerges + 2;
  const built = buildLlamaTokenizer({ vocabSize, corpus });
  if (built.learnedMerges !== probe.learnedMerges) throw new Error('tokenizer fitting did not converge');
  return built;
}

/** The micro model's config for a fitted tokenizer. */
export function configFor(tok: BuiltTokenizer): LlavaHfConfig {
  return microConfig(tok.tokens.length, {
    bos: tok.ids.bos,
    eos: tok.ids.eos,
    image: tok.ids.image,
    pad: tok.ids.pad,
  });
}

/** The engine tokenizer plus a fast encoder for the millions of training prompts. */
export type TrainingTokenizer = TextTokenizer & {
  /** Same ids as `encode`, built from cached per-word pieces (see fastEncoder). */
  encodeCached(text: string, special: boolean): number[];
};

/**
 * The engine's tokenizer over the built JSON, with a fast path for training data. The generated Llama tokenizers
 * never put ▁ inside a token, so BPE never merges across a space and a text tokenises as the concatenation of its
 * space-separated words (each one prepended with ▁ by the normaliser); special tokens split the text first. Encoding
 * word by word with a cache turns the quadratic whole-text BPE into lookups. `checkFastEncoder` verifies the
 * equivalence on real data before training relies on it.
 */
export function engineTokenizer(tok: BuiltTokenizer, config: LlavaHfConfig): TrainingTokenizer {
  const inner = createTokenizer(tok.json, tokenizerConfigJson(config, tok));
  const specials = tok.json.added_tokens.map((t) => t.content);
  const specialIds = new Map(tok.json.added_tokens.map((t) => [t.content, t.id]));
  const splitter = specialSplitter(specials);
  const space = inner.tokenToId('\u2581');
  const words = new Map<string, number[]>();
  const word = (w: string): number[] => {
    let ids = words.get(w);
    if (!ids) {
      ids = w === '' ? (space === null ? inner.encode(' ', false) : [space]) : inner.encode(w, false);
      words.set(w, ids);
    }
    return ids;
  };
  return Object.assign(inner, {
    encodeCached: (text: string, special: boolean): number[] =>
      encodeWords(text, special ? inner.encode('', true) : [], splitter, specialIds, word),
  });
}

/**
 * Checks the fast encoder against the engine's own on sample texts.
 * @throws Error naming the first text where they differ.
 */
export function checkFastEncoder(tok: TrainingTokenizer, texts: readonly string[]): void {
  for (const t of texts) {
    for (const special of [true, false]) {
      const a = tok.encode(t, special);
      const b = tok.encodeCached(t, special);
      if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
        throw new Error(`fast tokenisation differs from the engine's for ${JSON.stringify(t)}`);
      }
    }
  }
}
