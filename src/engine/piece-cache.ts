// Owns tokenising one conversation's prompts so that a turn costs work for what changed: the prompt is cut where the
// tokenizer starts an independent run (chat templates put a special token between turns), and each piece's ids are
// kept by its text, so finished turns are never tokenised again, wherever they now sit (turns left out before them,
// another branch). It must not render prompts or decide which ids a prompt keeps: the transcript does that.

import type { PieceStarts } from './token-pieces';

export type EncodeFn = (text: string, addSpecialTokens: boolean) => number[];

/** A prompt's ids, and what the transcript asks about its prefixes. */
export interface Tokenized {
  ids: number[];
  /**
   * How many ids `text.slice(0, chars)` tokenises into when they are exactly the first ids of the whole text (the
   * tokenisation has a boundary there); null when the prefix tokenises differently.
   */
  boundaryAt(chars: number): number | null;
}

export type TokenizeFn = (text: string, addSpecialTokens: boolean) => Tokenized;

function startsWithIds(ids: readonly number[], prefix: readonly number[], from = 0): boolean {
  if (from + prefix.length > ids.length) return false;
  for (let i = 0; i < prefix.length; i++) if (ids[from + i] !== prefix[i]) return false;
  return true;
}

/** Tokenising the whole text, and a whole prefix for each question about one: what the engine did before. */
export function wholeTokenize(encode: EncodeFn): TokenizeFn {
  return (text, addSpecialTokens) => {
    const ids = encode(text, addSpecialTokens);
    return {
      ids,
      boundaryAt: (chars) => {
        const prefix = encode(text.slice(0, chars), addSpecialTokens);
        return startsWithIds(ids, prefix) ? prefix.length : null;
      },
    };
  };
}

/** Counts for tests and benchmarks: how much text really went through the tokenizer. */
export interface PieceCacheStats {
  piecesEncoded: number;
  charsEncoded: number;
  piecesReused: number;
}

/** Pieces kept per conversation: several times a long chat's (a turn is two or three pieces). */
const DEFAULT_PIECES = 4096;

/** One conversation's pieces and their ids, least recently used forgotten first. */
export class PieceCache {
  private readonly entries = new Map<string, number[]>();
  readonly stats: PieceCacheStats = { piecesEncoded: 0, charsEncoded: 0, piecesReused: 0 };

  constructor(private readonly capacity = DEFAULT_PIECES) {}

  /**
   * The ids of `text`: the concatenation of its pieces' ids, each taken from the cache or tokenised once. The same
   * ids as `encode(text, addSpecialTokens)`, since the tokenizer passed that check for `pieceStarts` at load.
   */
  tokenize(text: string, addSpecialTokens: boolean, encode: EncodeFn, pieceStarts: PieceStarts): Tokenized {
    const starts = pieceStarts(text);
    const bounds = [0, ...starts.map((s) => s.at)];
    const idStarts: number[] = [];
    const ids: number[] = [];
    for (let j = 0; j < bounds.length; j++) {
      idStarts.push(ids.length);
      const from = bounds[j] as number;
      const to = bounds[j + 1] ?? text.length;
      ids.push(...this.piece(text.slice(from, to), from === 0 && addSpecialTokens, encode));
    }
    const boundaryAt = (chars: number): number | null => {
      if (chars >= text.length) return chars === text.length ? ids.length : null;
      // The last piece starting at or before `chars`.
      let lo = 0;
      let hi = bounds.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((bounds[mid] as number) <= chars) lo = mid;
        else hi = mid - 1;
      }
      const from = bounds[lo] as number;
      const base = idStarts[lo] as number;
      if (from === chars) return base;
      // Inside the token that opens the piece, the prefix is no piece of its own: ask the tokenizer about all of it.
      if (lo > 0 && chars < (starts[lo - 1] as { tokenEnd: number }).tokenEnd) {
        const prefix = encode(text.slice(0, chars), addSpecialTokens);
        return startsWithIds(ids, prefix) ? prefix.length : null;
      }
      const head = this.piece(text.slice(from, chars), lo === 0 && addSpecialTokens, encode);
      return startsWithIds(ids, head, base) ? base + head.length : null;
    };
    return { ids, boundaryAt };
  }

  private piece(text: string, addSpecialTokens: boolean, encode: EncodeFn): number[] {
    const key = `${addSpecialTokens ? 1 : 0}${text}`;
    let ids = this.entries.get(key);
    if (ids) {
      this.entries.delete(key);
      this.stats.piecesReused++;
    } else {
      ids = encode(text, addSpecialTokens);
      this.stats.piecesEncoded++;
      this.stats.charsEncoded += text.length;
    }
    this.entries.set(key, ids);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    return ids;
  }
}
