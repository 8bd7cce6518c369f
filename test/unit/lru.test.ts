// The one LRU behind the engine's caches: recency order, the capacity, and an eviction hook that runs exactly once for
// every entry that leaves (pushed out, deleted, cleared or replaced).
import { describe, expect, it } from 'vitest';
import { Lru } from '../../src/engine/lru';

function recorded(capacity: number) {
  const evicted: string[] = [];
  const lru = new Lru<string, number>(capacity, (key, value) => evicted.push(`${key}=${value}`));
  return { lru, evicted };
}

describe('Lru', () => {
  it('pushes out the least recently used entry past its capacity, calling the hook once', () => {
    const { lru, evicted } = recorded(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(evicted).toEqual(['a=1']);
    expect(lru.size).toBe(2);
    expect(lru.has('a')).toBe(false);
    expect([lru.peek('b'), lru.peek('c')]).toEqual([2, 3]);
  });

  it('get and take mark an entry most recently used; peek does not', () => {
    const { lru, evicted } = recorded(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.get('a')).toBe(1);
    expect(lru.peek('b')).toBe(2);
    expect(lru.oldest()).toEqual(['b', 2]);
    lru.set('d', 4);
    expect(evicted).toEqual(['b=2']);
    expect(lru.take('c', () => 99)).toBe(3);
    lru.set('e', 5);
    // Order now (oldest first): a, d, c, e → 'a' goes.
    expect(evicted).toEqual(['b=2', 'a=1']);
    expect([...lru.values()]).toEqual([4, 3, 5]);
  });

  it('take creates a missing entry once and keeps it', () => {
    const { lru } = recorded(2);
    let made = 0;
    const create = () => ++made * 10;
    expect(lru.take('x', create)).toBe(10);
    expect(lru.take('x', create)).toBe(10);
    expect(made).toBe(1);
  });

  it('delete, clear and replacing a value each run the hook once per entry that leaves', () => {
    const { lru, evicted } = recorded(5);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.delete('b')).toBe(true);
    expect(lru.delete('b')).toBe(false);
    lru.set('a', 7);
    // The same value stored again has not left.
    lru.set('a', 7);
    expect(evicted).toEqual(['b=2', 'a=1']);
    lru.clear();
    expect(evicted).toEqual(['b=2', 'a=1', 'c=3', 'a=7']);
    expect(lru.size).toBe(0);
    expect(lru.evictOldest()).toBe(false);
  });

  it('the hook sees the map without the entry it is told about', () => {
    const sizes: number[] = [];
    const lru: Lru<string, number> = new Lru(1, (key) => sizes.push(lru.has(key) ? -1 : lru.size));
    lru.set('a', 1);
    lru.set('b', 2);
    expect(sizes).toEqual([1]);
  });
});
