// Owns one small least-recently-used map with an eviction hook, the one ordering policy behind the engine's caches
// (conversations, their KV tensors, image features). It knows nothing of what it holds: what leaving costs (freeing
// tensors, counting bytes) is the hook's business.

/** Called once for every entry that leaves the map: pushed out, deleted, cleared or replaced by another value. */
export type EvictHook<K, V> = (key: K, value: V) => void;

/** A Map in recency order (oldest first) that keeps at most `capacity` entries. */
export class Lru<K, V extends NonNullable<unknown>> {
  private readonly entries = new Map<K, V>();

  /**
   * @param capacity most entries kept (Infinity: no limit; a caller may still push out entries with {@link evictOldest})
   * @param onEvict runs after an entry has left, so it may read the map's new state
   */
  constructor(
    private readonly capacity: number,
    private readonly onEvict: EvictHook<K, V> = () => undefined,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value of `key`, marked most recently used. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) this.touch(key, value);
    return value;
  }

  /** The value of `key`, leaving the order as it is. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** The value of `key`, made by `create` when absent; either way marked most recently used. */
  take(key: K, create: () => V): V {
    const value = this.get(key);
    if (value !== undefined) return value;
    const made = create();
    this.set(key, made);
    return made;
  }

  /** Stores `value` as the most recently used entry, then pushes out the oldest ones over the capacity. */
  set(key: K, value: V): void {
    const old = this.entries.get(key);
    this.entries.delete(key);
    this.entries.set(key, value);
    if (old !== undefined && old !== value) this.onEvict(key, old);
    while (this.entries.size > this.capacity) this.evictOldest();
  }

  /** Removes `key` (running the hook); false when it was not there. */
  delete(key: K): boolean {
    const value = this.entries.get(key);
    if (value === undefined) return false;
    this.entries.delete(key);
    this.onEvict(key, value);
    return true;
  }

  /** Removes the least recently used entry; false when the map is empty. */
  evictOldest(): boolean {
    const first = this.oldest();
    return first ? this.delete(first[0]) : false;
  }

  /** Removes every entry, oldest first. */
  clear(): void {
    while (this.evictOldest());
  }

  /** The least recently used entry, left where it is. */
  oldest(): [K, V] | undefined {
    const first = this.entries.entries().next();
    return first.done ? undefined : first.value;
  }

  /** Values oldest first, as they stand (do not change the map while walking them). */
  values(): IterableIterator<V> {
    return this.entries.values();
  }

  private touch(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
  }
}
