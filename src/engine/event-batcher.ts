// Owns throttling token text into at most one event per interval (about an animation frame), flushed at the end.
// It must not know about tokens, models or the worker boundary.

/** Collects text deltas and hands them on batched: the first at once, then no more than one per `intervalMs`. */
export class TextBatcher {
  private pending = '';
  private lastSent = -Infinity;

  constructor(
    private readonly send: (text: string) => void,
    private readonly now: () => number,
    private readonly intervalMs = 16,
  ) {}

  push(text: string): void {
    if (!text) return;
    this.pending += text;
    const t = this.now();
    if (t - this.lastSent >= this.intervalMs) this.emit(t);
  }

  /** Sends whatever is still pending (call before the 'done' event). */
  flush(): void {
    if (this.pending) this.emit(this.now());
  }

  private emit(t: number): void {
    const text = this.pending;
    this.pending = '';
    this.lastSent = t;
    this.send(text);
  }
}
