// Owns per-conversation KV caches: the tensors plus the exact token ids (and image identities) they hold, so a
// later turn reuses the longest common prefix. It must not run sessions; it only slices and disposes tensors.

import type { KvTensors } from './decoder';
import { Lru } from './lru';
import type { OrtRuntime } from './runtime';
import { sliceSequence } from './tensor-utils';

/** A run of image rows in a token sequence, with the identity of the image that filled it. */
export interface ImageSpan {
  start: number;
  length: number;
  key: string;
}

/** The KV state of one conversation: `tensors` hold exactly `tokens.length` positions. */
export class ConversationKv {
  private ids: number[] = [];
  private spans: ImageSpan[] = [];
  private tensors: KvTensors | null = null;
  /** Logits for the position after the last cached one, when the step that cached it kept them. */
  private logits: Float32Array | null = null;

  get length(): number {
    return this.ids.length;
  }

  get tokens(): readonly number[] {
    return this.ids;
  }

  /** Bytes the cached tensors hold (on the CPU or the GPU). */
  get bytes(): number {
    if (!this.tensors) return 0;
    let n = 0;
    for (const t of this.tensors.values()) {
      const per = t.type === 'float16' ? 2 : t.type === 'float32' ? 4 : 8;
      n += t.dims.reduce((a, b) => a * b, 1) * per;
    }
    return n;
  }

  /** The cached tensors, or null when nothing is cached. */
  get past(): KvTensors | null {
    return this.tensors;
  }

  /**
   * A copy of the logits that follow the cached sequence when this cache holds exactly (`ids`, `spans`) and the
   * step that filled it kept them; null otherwise. Lets a prompt prepared ahead start its answer without a step.
   */
  logitsAfter(ids: readonly number[], spans: readonly ImageSpan[]): Float32Array | null {
    if (!this.logits || ids.length !== this.ids.length) return null;
    return this.commonPrefix(ids, spans) === ids.length ? this.logits.slice() : null;
  }

  /**
   * Number of leading positions of (`ids`, `spans`) this cache already holds: equal ids, and every cached image
   * run inside that prefix filled by the same image at the same place.
   */
  commonPrefix(ids: readonly number[], spans: readonly ImageSpan[]): number {
    let n = 0;
    const max = Math.min(ids.length, this.ids.length);
    while (n < max && ids[n] === this.ids[n]) n++;
    for (const s of this.spans) {
      if (s.start >= n) continue;
      const same = spans.find((t) => t.start === s.start);
      if (!same || same.key !== s.key) n = Math.min(n, s.start);
    }
    return n;
  }

  /** Drops every position from `length` on (a no-op when nothing lies past it). */
  async truncate(ort: OrtRuntime, length: number): Promise<void> {
    if (length >= this.ids.length) return;
    if (length === 0 || !this.tensors) {
      this.clear();
      return;
    }
    const next: KvTensors = new Map();
    for (const [name, t] of this.tensors) next.set(name, await sliceSequence(ort, t, length));
    this.disposeTensors();
    this.tensors = next;
    this.logits = null;
    this.ids = this.ids.slice(0, length);
    this.spans = this.spans
      .filter((s) => s.start < length)
      .map((s) => ({ ...s, length: Math.min(s.length, length - s.start) }));
  }

  /**
   * Replaces the tensors after a decoder step that appended `ids` (with image runs `spans`, positions absolute)
   * to the cached sequence. Disposes the previous tensors. `logits` (the step's last-position logits, which the
   * caller must not change afterwards) are kept for {@link logitsAfter}.
   */
  append(
    present: KvTensors,
    ids: readonly number[],
    spans: readonly ImageSpan[] = [],
    logits: Float32Array | null = null,
  ): void {
    this.disposeTensors();
    this.tensors = present;
    this.logits = logits;
    const start = this.ids.length;
    for (const id of ids) this.ids.push(id);
    for (const s of spans) {
      const end = s.start + s.length;
      if (end <= start) continue;
      // Keep one span per image: extend a run the cache already began (a prefix that ended inside an image).
      const prev = this.spans.find((p) => p.start === s.start && p.key === s.key);
      if (prev) prev.length = s.length;
      else this.spans.push({ ...s });
    }
  }

  /** Forgets everything and frees the tensors. */
  clear(): void {
    this.disposeTensors();
    this.logits = null;
    this.ids = [];
    this.spans = [];
  }

  private disposeTensors(): void {
    if (!this.tensors) return;
    for (const t of this.tensors.values()) t.dispose();
    this.tensors = null;
  }
}

/**
 * Conversation caches by id within a memory budget: after each turn the least recently used caches are dropped
 * until the total fits, and the active one is cut to the prefix that fits (its start — system prompt and image rows —
 * is what a follow-up reuses most). The cache of the turn being generated may exceed the budget while it runs.
 */
export class KvCacheStore {
  // Leaving the store, by age or by forget, frees the tensors.
  private readonly entries: Lru<string, ConversationKv>;

  /**
   * @param capacity most conversations kept at once
   * @param budgetBytes most bytes of KV tensors kept between turns (Infinity: no limit)
   */
  constructor(
    capacity = 8,
    private budgetBytes = Number.POSITIVE_INFINITY,
  ) {
    this.entries = new Lru(capacity, (_, kv) => kv.clear());
  }

  /** The cache of `conversationId`, created empty when new; marks it most recently used. */
  take(conversationId: string): ConversationKv {
    return this.entries.take(conversationId, () => new ConversationKv());
  }

  get budget(): number {
    return this.budgetBytes;
  }

  /** Sets the budget; call {@link settle} to apply it. Negative or NaN values count as 0. */
  setBudget(bytes: number): void {
    this.budgetBytes = Number.isNaN(bytes) ? 0 : Math.max(0, bytes);
  }

  /** Bytes held by all cached conversations. */
  get totalBytes(): number {
    let n = 0;
    for (const kv of this.entries.values()) n += kv.bytes;
    return n;
  }

  /**
   * Drops least recently used caches until the total fits the budget; the most recently used one last, and then
   * only its tail (down to nothing when not even one position fits).
   */
  async settle(ort: OrtRuntime): Promise<void> {
    let total = this.totalBytes;
    while (total > this.budgetBytes && this.entries.size > 1) {
      const [, oldest] = this.entries.oldest() as [string, ConversationKv];
      total -= oldest.bytes;
      this.entries.evictOldest();
    }
    if (total <= this.budgetBytes) return;
    const [id, last] = this.entries.oldest() as [string, ConversationKv];
    const perToken = last.length > 0 ? last.bytes / last.length : 0;
    const keep = perToken > 0 ? Math.floor(this.budgetBytes / perToken) : 0;
    if (keep > 0) await last.truncate(ort, keep);
    else this.entries.delete(id);
  }

  /** Drops one conversation's cache, or all of them. */
  forget(conversationId?: string): void {
    if (conversationId === undefined) this.entries.clear();
    else this.entries.delete(conversationId);
  }

  /** Conversations with a cache (possibly empty) in the store. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether `conversationId` still has cached positions. */
  holds(conversationId: string): boolean {
    return (this.entries.peek(conversationId)?.length ?? 0) > 0;
  }
}
