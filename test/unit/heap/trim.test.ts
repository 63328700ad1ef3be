import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { startHeapTrim, trimHeapIfGrown, type HeapTrimStats } from '../../../src/heap/index.js';

describe('heap trim', () => {
  it('collects once the heap has grown past its bound, and learns the live size', () => {
    const stats: HeapTrimStats = { collections: 0, liveBytes: 0, pauseMs: 0, lastAtMs: 0 };
    // Garbage that survives scavenges long enough to reach the old generation: ~64 MB of
    // arrays kept until the last moment, then dropped.
    const junk: number[][] = Array.from({ length: 64 }, () => new Array<number>(128 * 1024).fill(1.5));
    const before = getHeapStatistics().used_heap_size;
    expect(before).toBeGreaterThan(64 << 20);
    junk.length = 0;
    expect(trimHeapIfGrown(stats, { intervalMs: 0, floorBytes: 32 << 20, growthFactor: 2, staleMs: 60_000, staleFactor: 1.25 })).toBe(true);
    expect(stats.collections).toBe(1);
    expect(stats.liveBytes).toBeLessThan(before - (48 << 20));
    // Right after a collection the heap is at its live size: no second collection.
    expect(trimHeapIfGrown(stats, { intervalMs: 0, floorBytes: 32 << 20, growthFactor: 2, staleMs: 60_000, staleFactor: 1.25 })).toBe(false);
    expect(stats.collections).toBe(1);
  });

  it('leaves a heap under its floor alone', () => {
    const stats: HeapTrimStats = { collections: 0, liveBytes: 0, pauseMs: 0, lastAtMs: 0 };
    expect(trimHeapIfGrown(stats, { intervalMs: 0, floorBytes: 8 * 1024 ** 3, growthFactor: 2, staleMs: 0, staleFactor: 1 })).toBe(false);
    expect(stats.collections).toBe(0);
  });

  it('is active when node was started with --expose-gc (as npm start and the unit project start it)', () => {
    const trim = startHeapTrim();
    try {
      expect(trim.active).toBe(typeof (globalThis as { gc?: unknown }).gc === 'function');
      expect(trim.active).toBe(true);
    } finally {
      trim.stop();
    }
  });
});
