// Owns per-conversation KV caches: the tensors plus the exact token ids (and image identities) they hold, so a
// later turn reuses the longest common prefix. It must not run sessions; it only slices and disposes tensors.

import type { KvTensors } from './decoder';
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

  get length(): number {
    return this.ids.length;
  }

  get tokens(): readonly number[] {
    return this.ids;
  }

  /** The cached tensors, or null when nothing is cached. */
  get past(): KvTensors | null {
    return this.tensors;
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
    this.ids = this.ids.slice(0, length);
    this.spans = this.spans
      .filter((s) => s.start < length)
      .map((s) => ({ ...s, length: Math.min(s.length, length - s.start) }));
  }

  /**
   * Replaces the tensors after a decoder step that appended `ids` (with image runs `spans`, positions absolute)
   * to the cached sequence. Disposes the previous tensors.
   */
  append(present: KvTensors, ids: readonly number[], spans: readonly ImageSpan[] = []): void {
    this.disposeTensors();
    this.tensors = present;
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
    this.ids = [];
    this.spans = [];
  }

  private disposeTensors(): void {
    if (!this.tensors) return;
    for (const t of this.tensors.values()) t.dispose();
    this.tensors = null;
  }
}

/** Conversation caches by id, least recently used dropped first (KV of long chats is large). */
export class KvCacheStore {
  private readonly entries = new Map<string, ConversationKv>();

  constructor(private readonly capacity = 2) {}

  /** The cache of `conversationId`, created empty when new; marks it most recently used. */
  take(conversationId: string): ConversationKv {
    let kv = this.entries.get(conversationId);
    if (kv) this.entries.delete(conversationId);
    else kv = new ConversationKv();
    this.entries.set(conversationId, kv);
    while (this.entries.size > this.capacity) {
      const [oldest, entry] = this.entries.entries().next().value as [string, ConversationKv];
      entry.clear();
      this.entries.delete(oldest);
    }
    return kv;
  }

  /** Drops one conversation's cache, or all of them. */
  forget(conversationId?: string): void {
    for (const [id, kv] of this.entries) {
      if (conversationId === undefined || id === conversationId) {
        kv.clear();
        this.entries.delete(id);
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
