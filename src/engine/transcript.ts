// Owns what the model saw of each conversation as (rendered text ↔ raw token ids) checkpoints, so the next request's
// prompt reuses the ids the engine itself generated instead of re-tokenising its answers (which rarely gives the same
// ids, and so would defeat KV reuse). It must not run sessions, expand images or touch tensors.

import { PieceCache, wholeTokenize, type EncodeFn, type TokenizeFn, type Tokenized } from './piece-cache';
import type { RenderedPrompt } from './prompt';
import type { PieceStarts } from './token-pieces';

/** A point where `text.slice(0, chars)` is exactly what `ids.slice(0, ids)` spell, at a token boundary. */
interface Mark {
  chars: number;
  ids: number;
}

/** Raw prompt ids (one id per image placeholder) for a rendered prompt, and the checkpoints they keep. */
export interface ResolvedPrompt {
  text: string;
  addSpecialTokens: boolean;
  ids: number[];
  marks: Mark[];
  /** Leading ids taken from the transcript rather than from tokenising the text. */
  reusedIds: number;
  /** Content keys of the prompt's images, in placeholder order. */
  imageKeys: readonly string[];
}

/** What a prompt is resolved against besides its text. */
export interface ResolveContext {
  encode: EncodeFn;
  /** The tokenizer's piece starts: with them, finished turns are not tokenised again (see {@link PieceCache}). */
  pieceStarts?: PieceStarts | null;
  imageTokenId: number;
  /** Content keys of the request's images, in placeholder order. */
  imageKeys: readonly string[];
  /**
   * Answers the caller kept with the ids this model generated for them (ChatMessage.tokens), in message order. Where
   * the prompt carries one past the remembered checkpoint (a chat reopened after a reload, another branch), its ids
   * are fed back instead of tokenising its text again.
   */
  answers?: readonly RecordedAnswer[];
}

/** The answer the engine returned, with the ids it generated for it. */
export interface RecordedAnswer {
  text: string;
  ids: readonly number[];
}

export type { EncodeFn } from './piece-cache';

/** Where a prompt's ids are known up to: `chars` of its text are spelled by `ids`, and `full[fullAt]` comes next. */
interface Resumed {
  chars: number;
  ids: number[];
  marks: Mark[];
  fullAt: number;
}

/**
 * The prompt's ids from `from` on: the full tokenisation, except that each stored answer found in the text after
 * `from` keeps its generated ids. An answer is spliced in only where the full tokenisation has token boundaries just
 * before it and just after it, so every other id is exactly what tokenising the whole text gives. Costs two prefix
 * questions per answer spliced (whole prefixes tokenised, or one piece each with the piece cache); answers before
 * `from` (the remembered checkpoint) cost nothing.
 */
function spliceAnswers(
  text: string,
  tokenized: Tokenized,
  from: Resumed,
  answers: readonly RecordedAnswer[],
): { ids: number[]; marks: Mark[] } {
  const full = tokenized.ids;
  let { chars, fullAt } = from;
  const ids = [...from.ids];
  const marks = [...from.marks];
  for (const a of answers) {
    if (a.text === '' || a.ids.length === 0) continue;
    const at = text.indexOf(a.text, chars);
    // Not in this prompt (left out to fit the window) or not after what is already known.
    if (at < 0) continue;
    const end = at + a.text.length;
    const after = tokenized.boundaryAt(end);
    if (after === null) continue;
    // As in a live chat, the answer's ids follow the generation prompt directly: a space the template put between
    // them is not fed (the first id usually carries it), while newlines belong to the generation prompt (ChatML,
    // Llama 3). Where the full tokenisation has no boundary there, the ids start at the answer's own text.
    let trimmed = at;
    while (trimmed > chars && /[ \t]/.test(text[trimmed - 1] as string)) trimmed--;
    for (const gap of trimmed < at ? [trimmed, at] : [at]) {
      const before = tokenized.boundaryAt(gap);
      if (before === null || before < fullAt) continue;
      ids.push(...full.slice(fullAt, before), ...a.ids);
      chars = end;
      fullAt = after;
      marks.push({ chars: end, ids: ids.length });
      break;
    }
  }
  ids.push(...full.slice(fullAt));
  if (text.length > chars) marks.push({ chars: text.length, ids: ids.length });
  return { ids, marks };
}

/** How many encodes one request may spend looking for a checkpoint (each tokenises a prefix of the prompt). */
const MAX_PROBES = 3;

/** One conversation's memory: the last prompt's text and ids, its checkpoints, and the answer given to it. */
export class Transcript {
  private text = '';
  private ids: number[] = [];
  private marks: Mark[] = [];
  private addSpecialTokens = true;
  private answer: RecordedAnswer | null = null;
  private imageKeys: readonly string[] = [];
  /** This conversation's tokenised pieces; null tokenises every prompt whole. */
  private readonly pieces: PieceCache | null;

  constructor(options: { pieces?: boolean } = {}) {
    this.pieces = options.pieces === false ? null : new PieceCache();
  }

  /** How much text this conversation's prompts really sent through the tokenizer (null without the piece cache). */
  get pieceStats() {
    return this.pieces ? { ...this.pieces.stats } : null;
  }

  /**
   * Raw ids for `rendered`: the tokenisation of its text, except that the longest remembered prefix (the previous
   * prompt, and the engine's own answer to it when the text carries that answer unchanged) keeps the ids the model
   * really saw. A checkpoint is used only where the full tokenisation has a token boundary at the same place, so
   * the ids after it are exactly what tokenising the whole text gives there.
   */
  resolve(rendered: RenderedPrompt, context: ResolveContext): ResolvedPrompt {
    const { text, addSpecialTokens } = rendered;
    const { encode, imageKeys, pieceStarts } = context;
    const pieces = this.pieces;
    const tokenize: TokenizeFn =
      pieces && pieceStarts
        ? (t, special) => pieces.tokenize(t, special, encode, pieceStarts)
        : wholeTokenize(encode);
    const tokenized = tokenize(text, addSpecialTokens);
    const full = tokenized.ids;
    const plain: ResolvedPrompt = {
      text,
      addSpecialTokens,
      ids: full,
      marks: [{ chars: text.length, ids: full.length }],
      reusedIds: 0,
      imageKeys,
    };
    const answers = context.answers ?? [];
    const spliced = (from: Resumed): ResolvedPrompt => {
      const { ids, marks } = spliceAnswers(text, tokenized, from, answers);
      return { text, addSpecialTokens, ids, marks, reusedIds: from.ids.length, imageKeys };
    };
    const start: Resumed = { chars: 0, ids: [], marks: [], fullAt: 0 };
    if (this.ids.length === 0 || addSpecialTokens !== this.addSpecialTokens) {
      return answers.length > 0 ? spliced(start) : plain;
    }
    let probes = 0;
    for (const c of this.candidates(text)) {
      // The same text around other pictures is another conversation: answers about them are not ours to reuse.
      if (!this.sameImagesIn(c.head, context)) continue;
      if (probes++ >= MAX_PROBES) break;
      const prefix = tokenized.boundaryAt(c.chars);
      if (prefix === null) continue;
      const kept = this.marks.filter((m) => m.chars < c.chars);
      return spliced({
        chars: c.chars,
        ids: [...c.head],
        marks: [...kept, { chars: c.chars, ids: c.head.length }],
        fullAt: prefix,
      });
    }
    return answers.length > 0 ? spliced(start) : plain;
  }

  /** Remembers the prompt a turn ran on and the answer it produced (null when it cannot be reused). */
  record(prompt: ResolvedPrompt, answer: RecordedAnswer | null): void {
    this.text = prompt.text;
    this.ids = prompt.ids;
    this.marks = prompt.marks;
    this.addSpecialTokens = prompt.addSpecialTokens;
    this.imageKeys = prompt.imageKeys;
    this.answer = answer && answer.ids.length > 0 ? { text: answer.text, ids: [...answer.ids] } : null;
  }

  private sameImagesIn(head: readonly number[], context: ResolveContext): boolean {
    let k = 0;
    for (const id of head) {
      if (id !== context.imageTokenId) continue;
      if (this.imageKeys[k] === undefined || this.imageKeys[k] !== context.imageKeys[k]) return false;
      k++;
    }
    return true;
  }

  /** Checkpoints `text` still starts with, longest first. */
  private *candidates(text: string): Generator<{ chars: number; head: readonly number[] }> {
    if (this.answer && text.startsWith(this.text)) {
      const a = this.answer;
      const at = this.text.length;
      // Templates put a separator (a space, a newline) between the generation prompt and the answer, which the
      // answer's own first id usually already carries; look past it.
      const ws = /^\s*/.exec(text.slice(at))?.[0].length ?? 0;
      for (const skip of ws > 0 ? [0, ws] : [0]) {
        if (text.startsWith(a.text, at + skip)) {
          yield { chars: at + skip + a.text.length, head: [...this.ids, ...a.ids] };
          break;
        }
      }
    }
    for (let i = this.marks.length - 1; i >= 0; i--) {
      const m = this.marks[i] as Mark;
      if (m.chars > 0 && text.startsWith(this.text.slice(0, m.chars))) {
        yield { chars: m.chars, head: this.ids.slice(0, m.ids) };
      }
    }
  }
}
