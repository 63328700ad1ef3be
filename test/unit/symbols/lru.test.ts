import { describe, expect, it } from 'vitest';
import { LruCache } from '../../../src/symbols/lru.js';

describe('LruCache', () => {
  it('evicts the least recently used entry by count', () => {
    const c = new LruCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1); // a is now most recent
    c.set('c', 3);
    expect([...c.keys()]).toEqual(['a', 'c']);
  });

  it('evicts by bytes but keeps the newest entry even if it alone is too big', () => {
    const c = new LruCache<string, number>(10, 100);
    c.set('a', 1, 60);
    c.set('b', 2, 30);
    c.set('c', 3, 50);
    expect([...c.keys()]).toEqual(['b', 'c']);
    expect(c.bytes).toBe(80);
    c.set('huge', 4, 500);
    expect([...c.keys()]).toEqual(['huge']);
    expect(c.delete('huge')).toBe(true);
    expect(c.bytes).toBe(0);
  });

  it('rejects a zero bound', () => {
    expect(() => new LruCache(0)).toThrow(/maxEntries must be >= 1/);
  });
});
