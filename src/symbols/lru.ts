/** A Map-backed LRU bounded by entry count and by an estimated byte total. */
export class LruCache<K, V> {
  private readonly map = new Map<K, { value: V; bytes: number }>();
  private totalBytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number = Number.POSITIVE_INFINITY,
    private readonly onEvict?: (value: V, key: K) => void,
  ) {
    if (!(maxEntries >= 1)) throw new RangeError(`LruCache maxEntries must be >= 1, got ${maxEntries}`);
  }

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    // Re-insert to mark as most recently used (Map keeps insertion order).
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  peek(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  set(key: K, value: V, bytes = 0): void {
    this.delete(key);
    this.map.set(key, { value, bytes });
    this.totalBytes += bytes;
    // Evict least recently used; never the entry just inserted.
    for (const [k, e] of this.map) {
      if (this.map.size <= this.maxEntries && this.totalBytes <= this.maxBytes) break;
      if (k === key) break;
      this.map.delete(k);
      this.totalBytes -= e.bytes;
      this.onEvict?.(e.value, k);
    }
  }

  delete(key: K): boolean {
    const e = this.map.get(key);
    if (!e) return false;
    this.map.delete(key);
    this.totalBytes -= e.bytes;
    return true;
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }
}
