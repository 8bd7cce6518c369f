// Owns a transformers.js-free encoder and decoder for the micro model's Llama-style BPE tokenizer (Prepend/Replace ▁
// normaliser, no pre-tokenizer, byte fallback), word by word as engineTokenizer's fast path does. The browser's
// training worker uses it so that it does not bundle transformers.js (and with it a second onnxruntime-web).
// Equal to the engine's tokenizer on the caption prompts: checked in test/e2e/train-page.test.ts.

import type { BuiltTokenizer } from '../../modelgen/llava/tokenizer-json';
import type { SequenceTokenizer } from './sequences';

export interface WordTokenizer extends SequenceTokenizer {
  /** Text of `ids` with special tokens skipped (the engine's decode: ▁ → space, byte fallback, one leading space cut). */
  decode(ids: readonly number[]): string;
}

const SPACE = '\u2581';

/** A regex that splits text around the given special tokens, keeping them. */
export function specialSplitter(specials: Iterable<string>): RegExp {
  return new RegExp(`(${[...specials].map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`);
}

/**
 * Ids of `text` word by word: special tokens by id, every other space-separated word through `word`. Both micro
 * tokenizers encode this way, since the micro vocabulary never merges across a space.
 */
export function encodeWords(
  text: string,
  lead: readonly number[],
  splitter: RegExp,
  specialIds: ReadonlyMap<string, number>,
  word: (w: string) => number[],
): number[] {
  const out = [...lead];
  for (const part of text.split(splitter)) {
    if (part === '') continue;
    const id = specialIds.get(part);
    if (id !== undefined) out.push(id);
    else for (const w of part.split(' ')) out.push(...word(w));
  }
  return out;
}

/** The word-by-word BPE encoder over a built tokenizer's JSON. */
export function wordTokenizer(tok: BuiltTokenizer): WordTokenizer {
  const vocab = tok.json.model.vocab;
  const ranks = new Map<string, number>();
  tok.json.model.merges.forEach((m, i) => ranks.set(m, i));
  const specialIds = new Map(tok.json.added_tokens.map((t) => [t.content, t.id]));
  const specialSet = new Set(specialIds.values());
  const splitter = specialSplitter(specialIds.keys());
  const unk = tok.ids.unk;
  const bpe = (text: string): number[] => {
    let parts = [...text];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), parts[best]! + parts[best + 1]!, ...parts.slice(best + 2)];
    }
    const ids: number[] = [];
    for (const p of parts) {
      const id = vocab[p];
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      for (const byte of new TextEncoder().encode(p)) {
        const b = vocab[`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`] ?? unk;
        if (b !== null) ids.push(b);
      }
    }
    return ids;
  };
  const words = new Map<string, number[]>();
  const word = (w: string): number[] => {
    let ids = words.get(w);
    if (!ids) {
      ids = bpe(SPACE + w.replaceAll(' ', SPACE));
      words.set(w, ids);
    }
    return ids;
  };
  return {
    encodeCached: (text: string, special: boolean): number[] =>
      encodeWords(text, special ? [tok.ids.bos] : [], splitter, specialIds, word),
    decode(ids: readonly number[]): string {
      const bytes: number[] = [];
      const enc = new TextEncoder();
      for (const id of ids) {
        if (specialSet.has(id)) continue;
        const t = tok.tokens[id] ?? '';
        const m = /^<0x([0-9A-F]{2})>$/.exec(t);
        if (m) bytes.push(parseInt(m[1]!, 16));
        else bytes.push(...enc.encode(t.replaceAll(SPACE, ' ')));
      }
      const text = new TextDecoder().decode(Uint8Array.from(bytes));
      return text.startsWith(' ') ? text.slice(1) : text;
    },
  };
}
