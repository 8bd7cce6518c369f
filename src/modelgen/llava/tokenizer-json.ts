// Owns the shapes shared by the generated tokenizers (tokenizer.json subset, special ids and strings) and tiny
// helpers over them. Types and pure helpers only.

/** Token ids of the special roles; the image and pad tokens sit at the end, where llava-hf adds them. */
export interface SpecialTokenIds {
  /** The id config.json names as BOS (the Qwen flavour never adds it to prompts, like Qwen2). */
  bos: number;
  eos: number;
  image: number;
  pad: number;
  unk: number | null;
}

/** The special token strings tokenizer_config.json names (null where the family has none). */
export interface SpecialTokenStrings {
  bos: string | null;
  eos: string;
  unk: string | null;
  pad: string;
  image: string;
}

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The `tokenizers` JSON format, with the parts the generated files vary kept loose. */
export interface TokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: Record<string, unknown> | null;
  pre_tokenizer: Record<string, unknown> | null;
  post_processor: Record<string, unknown> | null;
  decoder: Record<string, unknown>;
  model: { type: 'BPE'; vocab: Record<string, number>; merges: string[]; [key: string]: unknown };
}

export type TokenizerFamily = 'llama' | 'qwen2';

export interface BuiltTokenizer {
  family: TokenizerFamily;
  json: TokenizerJson;
  /** Token string by id, added tokens included (length = vocabSize). */
  tokens: string[];
  ids: SpecialTokenIds;
  special: SpecialTokenStrings;
  /** How many merges were learned from the corpus before padding to the vocabulary size. */
  learnedMerges: number;
}

export interface TokenizerBuildOptions {
  /** Exact number of ids, added tokens included (text_config.vocab_size). */
  vocabSize: number;
  /** Sentences to learn merges from; defaults to the built-in picture-chat corpus. */
  corpus?: readonly string[];
}

export const IMAGE_TOKEN = '<image>';
export const PAD_TOKEN = '<pad>';

/** An added special token entry as tokenizer.json lists it (never normalised, never stripped). */
export function addedToken(id: number, content: string): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** Blanks special-token strings out of corpus text before merge learning (they are never BPE'd). */
export function withoutSpecials(line: string, specials: readonly string[]): string {
  let text = line;
  for (const s of specials) text = text.split(s).join(' ');
  return text;
}

/** Maps a token list (id order) to the `vocab` object of tokenizer.json. */
export function vocabObject(tokens: readonly string[]): Record<string, number> {
  const vocab: Record<string, number> = {};
  tokens.forEach((t, id) => (vocab[t] = id));
  return vocab;
}
