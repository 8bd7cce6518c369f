// Owns the micro tokenizer: the generator's Llama-style BPE builder fitted to the micro data's own text, and the
// engine's tokenizer wrapper around it, so training tokenises exactly as the engine will at inference. No I/O.

import { buildLlamaTokenizer, type BuiltTokenizer } from '../../modelgen/llava/tokenizer-builder';
import { createTokenizer, type TextTokenizer } from '../../engine/tokenizer';
import { tokenizerConfigJson } from '../../modelgen/llava/config-files';
import { LLAVA_V1_SYSTEM, VICUNA_V1_SYSTEM } from '../../engine/prompt';
import type { LlavaHfConfig } from '../../modelgen/llava/types';
import type { LlavaRecord } from '../data/llava-format';
import { microConfig } from './config';

/** The two system prompts the engine's templates write (vicuna_v1: "user"; llava_v1 and the model's template: "human"). */
export const SYSTEM_PROMPTS: readonly string[] = [VICUNA_V1_SYSTEM, LLAVA_V1_SYSTEM];

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
  return microConfig(tok.tokens.length, { bos: tok.ids.bos, eos: tok.ids.eos, image: tok.ids.image, pad: tok.ids.pad });
}

/** The engine's tokenizer over the built JSON, with a cache: the data repeats the same strings many times. */
export function engineTokenizer(tok: BuiltTokenizer, config: LlavaHfConfig): TextTokenizer & { encodeCached(text: string, special: boolean): number[] } {
  const inner = createTokenizer(tok.json, tokenizerConfigJson(config, tok));
  const cache = new Map<string, number[]>();
  return Object.assign(inner, {
    encodeCached(text: string, special: boolean): number[] {
      const key = `${special ? 1 : 0}${text}`;
      let ids = cache.get(key);
      if (!ids) {
        ids = inner.encode(text, special);
        cache.set(key, ids);
      }
      return ids;
    },
  });
}
