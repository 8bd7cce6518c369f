// Owns where a text may be tokenised in pieces: the places where the tokenizer itself starts a new, independent run
// (an added token matched before normalisation, which nothing before it reaches into), found the same way the
// tokenizer scans for them, and the check at load that pieces really add up to the whole. It must not cache ids or
// know about conversations: the piece cache does that.

/** One added token as tokenizer.json lists it. */
interface AddedTokenJson {
  content?: unknown;
  lstrip?: unknown;
  normalized?: unknown;
}

/** A place where a piece starts: the added token that begins it spans `text.slice(at, tokenEnd)`. */
export interface PieceStart {
  at: number;
  tokenEnd: number;
}

/**
 * Where `text` may be cut (ascending, never at 0): tokenising `text.slice(at)` without special tokens gives exactly
 * the ids the whole text has from there on, and so does any prefix of it that holds the whole opening token.
 */
export type PieceStarts = (text: string) => PieceStart[];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A tokenizer's piece starts and the added tokens that begin a piece. */
interface PieceScan {
  starts: PieceStarts;
  cutTokens: string[];
}

/**
 * The tokenizer splits its input at added tokens first (longest match, left to right) and runs each run between them
 * through normalisation, pre-tokenisation and the model on its own. A run is therefore independent of what came
 * before it when it starts with an added token that does not strip the whitespace before it (`lstrip`), and is
 * matched before normalisation. Returns null when the tokenizer has no such token.
 */
function scanOf(tokenizerJson: unknown): PieceScan | null {
  const json = (typeof tokenizerJson === 'object' && tokenizerJson !== null ? tokenizerJson : {}) as {
    added_tokens?: unknown;
    normalizer?: unknown;
  };
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as AddedTokenJson[]) : [];
  const hasNormalizer = json.normalizer !== null && json.normalizer !== undefined;
  // Every token the tokenizer matches before normalisation takes part in the scan (a longer one wins over a cut
  // token it contains); only those that leave the text before them alone start a piece.
  const scanned = added.filter(
    (t): t is AddedTokenJson & { content: string } =>
      typeof t.content === 'string' && t.content !== '' && (t.normalized !== true || !hasNormalizer),
  );
  const cuts = new Set(scanned.filter((t) => t.lstrip !== true).map((t) => t.content));
  if (cuts.size === 0) return null;
  // Longest first: a regular-expression alternation takes the first alternative that matches, the tokenizer's trie
  // the longest.
  const contents = [...new Set(scanned.map((t) => t.content))].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(contents.map(escape).join('|'), 'g');
  const starts: PieceStarts = (text) => {
    const out: PieceStart[] = [];
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      if (m.index > 0 && cuts.has(m[0])) out.push({ at: m.index, tokenEnd: m.index + m[0].length });
    }
    return out;
  };
  return { starts, cutTokens: [...cuts] };
}

type Encode = (text: string, addSpecialTokens: boolean) => number[];

/** Tokenises `text` piece by piece: the first piece as asked, the others without special tokens. */
export function encodeInPieces(
  text: string,
  addSpecialTokens: boolean,
  starts: readonly PieceStart[],
  encode: Encode,
): number[] {
  const ids: number[] = [];
  let from = 0;
  for (const at of [...starts.map((s) => s.at), text.length]) {
    if (at <= from) continue;
    ids.push(...encode(text.slice(from, at), from === 0 && addSpecialTokens));
    from = at;
  }
  return ids;
}

/** Text around the cut tokens in the load check: spaces and newlines on both sides, words glued to them. */
const AROUND = ['Hello world', ' two  spaces ', 'line\nbreak\n', '\n', ' ', 'émigré 123 ', 'x', ''];

/**
 * The tokenizer's piece starts (see {@link PieceStarts}) when tokenising in pieces gives the same ids as tokenising
 * whole on texts built to trip it up, with and without special tokens; null when any differs or the tokenizer has no
 * cut token. Some tokenizers do what the scan does not model (a post-processor that appends an end token, a class
 * that rewrites the text first): they keep tokenising whole.
 */
export function checkedPieceStarts(tokenizerJson: unknown, encode: Encode): PieceStarts | null {
  const scan = scanOf(tokenizerJson);
  if (!scan) return null;
  // Pieces are independent, so one text per token tries every neighbourhood at once (each cut in it is a case).
  const texts: string[] = [];
  for (const token of scan.cutTokens.slice(0, 16)) {
    texts.push(AROUND.map((a) => `${a}${token}`).join('') + AROUND.join(token), `${token}${AROUND[1]}`);
  }
  // Two cut tokens in a row, every pair of the first few.
  for (const a of scan.cutTokens.slice(0, 4))
    for (const b of scan.cutTokens.slice(0, 4)) texts.push(`Q: ${a}${b} A:${a}\n${b}`);
  try {
    for (const text of texts) {
      for (const special of [true, false]) {
        const whole = encode(text, special);
        const pieces = encodeInPieces(text, special, scan.starts(text), encode);
        if (whole.length !== pieces.length || whole.some((id, k) => id !== pieces[k])) return null;
      }
    }
  } catch {
    return null;
  }
  return scan.starts;
}
