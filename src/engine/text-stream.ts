// Owns incremental detokenisation: turns a growing list of generated ids into text deltas whose concatenation is
// exactly decode(all ids), and finds stop strings. It must not sample, batch events or know about ONNX.

/** Decodes a whole id list to text (the tokenizer's decode with special tokens skipped). */
export type DecodeFn = (ids: readonly number[]) => string;

const REPLACEMENT = '\uFFFD';

/** Length of the longest suffix of `text` that is a proper prefix of one of the stop strings. */
function stopPrefixHold(text: string, stops: readonly string[]): number {
  let hold = 0;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, text.length); k > hold; k--) {
      if (text.endsWith(stop.slice(0, k))) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}

/**
 * Streams text for generated ids.
 *
 * Each `push` decodes all ids so far and releases only text that cannot change any more: it holds back trailing
 * U+FFFD (bytes of a character still being spelled by byte-fallback tokens), trailing whitespace (a decoder may
 * still drop or merge it, and a new line's leading space must not be lost as transformers.js's TextStreamer does),
 * and any tail that could be the start of a stop string. `finish` releases the rest. Invariant: the concatenation
 * of all deltas equals decode(all ids) — or, when a stop string was found, the text before it.
 */
export class TextStream {
  private readonly ids: number[] = [];
  private emitted = '';
  private stoppedAt = -1;

  constructor(
    private readonly decode: DecodeFn,
    private readonly stops: readonly string[] = [],
  ) {}

  /** True once a stop string has appeared; the caller should stop generating. */
  get stopped(): boolean {
    return this.stoppedAt >= 0;
  }

  /** All text released so far. */
  get text(): string {
    return this.emitted;
  }

  /** The ids pushed so far. */
  get tokenIds(): readonly number[] {
    return this.ids;
  }

  /** Adds one generated id; returns the newly stable text (possibly ''). */
  push(id: number): string {
    if (this.stopped) return '';
    this.ids.push(id);
    const full = this.decode(this.ids);
    const stop = this.findStop(full);
    if (stop >= 0) {
      this.stoppedAt = stop;
      return this.release(full.slice(0, stop));
    }
    let end = full.length;
    while (end > this.emitted.length && full[end - 1] === REPLACEMENT) end--;
    while (end > this.emitted.length && /\s/.test(full[end - 1] as string)) end--;
    end -= stopPrefixHold(full.slice(this.emitted.length, end), this.stops);
    return this.release(full.slice(0, Math.max(end, this.emitted.length)));
  }

  /** Releases everything still held back (call once generation ends). */
  finish(): string {
    if (this.stopped) return '';
    if (this.ids.length === 0) return '';
    const full = this.decode(this.ids);
    const stop = this.findStop(full);
    if (stop >= 0) {
      this.stoppedAt = stop;
      return this.release(full.slice(0, stop));
    }
    return this.release(full);
  }

  private findStop(full: string): number {
    let best = -1;
    // Released text never ends with the start of a stop string (it is held back), so a stop can only begin in
    // the unreleased tail.
    for (const stop of this.stops) {
      if (stop.length === 0) continue;
      const at = full.indexOf(stop, this.emitted.length);
      if (at >= 0 && (best < 0 || at < best)) best = at;
    }
    return best;
  }

  private release(upTo: string): string {
    if (!upTo.startsWith(this.emitted)) {
      // The decoder rewrote released text (should not happen given the hold-back rules); keep the stream
      // append-only and report nothing new rather than break the invariant silently.
      throw new Error('Text stream invariant broken: decoded text no longer starts with the released text.');
    }
    const delta = upTo.slice(this.emitted.length);
    this.emitted = upTo;
    return delta;
  }
}
