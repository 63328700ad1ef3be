/**
 * Keeps an isolate's heap near its live size.
 *
 * Why: V8 sizes the old generation's first collection limit for a browser tab, not for a
 * long-running agent inside a 512 Mi container. Measured on the agent (dist, whole host, 99 Hz):
 * the main isolate's heap reached 180–260 MB within its first minute while a heap snapshot (which
 * collects first) found 42–45 MB live; after one full collection it stayed at 50–60 MB. So one
 * full collection when the heap has grown well past the last live size costs a few tens of
 * milliseconds and returns ~150 MB of RSS. A fixed `--max-old-space-size` would do it too, but
 * turns a legitimately large symbol cache into a fatal out-of-memory crash.
 *
 * The collection is V8's `gc()`, present only when node was started with --expose-gc: `npm
 * start`, the `hotspan` command (its #! line) and the image pass it. Without it trimming is off
 * (startHeapTrim says so) and the heap grows to V8's own limits. Why not set the flag at run time,
 * as this module once did (v8.setFlagsFromString, then `gc` from a fresh context): V8 calls
 * changing flags after start undefined behaviour; workers that set it themselves were followed by a
 * SIGSEGV in a qemu guest; and it did not look free. In test/bench/probes/agent-threads.sh the agent
 * that set it used 7.84% of a core (7.9–8.1% in two variants of it), the same trimming with the
 * flag given at start 6.45% and 7.4%: a difference about the spread between runs, so not proven.
 */
import { getHeapStatistics } from 'node:v8';

export interface HeapTrimBounds {
  /** How often the heap is looked at (startHeapTrim). */
  intervalMs: number;
  /** Below this the heap is left alone, whatever its growth. */
  floorBytes: number;
  /** A collection runs once used heap exceeds this multiple of the last collection's live size. */
  growthFactor: number;
  /**
   * Past this long since the last collection, a smaller growth (staleFactor) is enough: a live
   * size taken mid-start-up (symbol tables half built, /proc read buffers) overstates the steady
   * state, and twice it would leave ~100 MB of garbage for good.
   */
  staleMs: number;
  staleFactor: number;
}

/** Named bounds of heap trimming for the agent's main isolate. */
export const HEAP_TRIM_BOUNDS: HeapTrimBounds = {
  /** Looking is one getHeapStatistics() call (µs); start-up makes ~100 MB of garbage in its first 3 s. */
  intervalMs: 1_000,
  floorBytes: 64 * 1024 * 1024,
  growthFactor: 2,
  /** One full collection of ~45 MB live takes 30–60 ms: at most ~0.2 % of a core at this pace. */
  staleMs: 30_000,
  staleFactor: 1.25,
};

let fullCollection: (() => void) | null | undefined;

/** The isolate's `gc` global: every isolate of a process started with --expose-gc has one. */
function collector(): (() => void) | null {
  if (fullCollection !== undefined) return fullCollection;
  const gc = (globalThis as { gc?: unknown }).gc;
  return (fullCollection = typeof gc === 'function' ? (gc as () => void) : null);
}

export interface HeapTrimStats {
  collections: number;
  /** Used heap after the last collection, bytes (0 before the first). */
  liveBytes: number;
  /** Milliseconds the collections took in total. */
  pauseMs: number;
  /** performance.now() of the last collection (0 before the first). */
  lastAtMs: number;
}

/** One look: collect if the heap has grown past its bound. Returns whether it collected. */
export function trimHeapIfGrown(stats: HeapTrimStats, bounds: HeapTrimBounds = HEAP_TRIM_BOUNDS): boolean {
  const used = getHeapStatistics().used_heap_size;
  const now = performance.now();
  const factor = now - stats.lastAtMs >= bounds.staleMs ? bounds.staleFactor : bounds.growthFactor;
  if (used < Math.max(bounds.floorBytes, factor * stats.liveBytes)) return false;
  const gc = collector();
  if (!gc) return false;
  gc();
  stats.lastAtMs = performance.now();
  stats.pauseMs += stats.lastAtMs - now;
  stats.collections++;
  stats.liveBytes = getHeapStatistics().used_heap_size;
  return true;
}

/** Looks at this isolate's heap every `intervalMs` (unref'd: never keeps the process alive). */
export function startHeapTrim(bounds: HeapTrimBounds = HEAP_TRIM_BOUNDS): { stats: HeapTrimStats; active: boolean; stop(): void } {
  const active = collector() !== null;
  const stats: HeapTrimStats = { collections: 0, liveBytes: 0, pauseMs: 0, lastAtMs: 0 };
  if (!active) return { stats, active, stop: () => {} };
  const timer = setInterval(() => trimHeapIfGrown(stats, bounds), bounds.intervalMs);
  timer.unref();
  return { stats, active, stop: () => clearInterval(timer) };
}
