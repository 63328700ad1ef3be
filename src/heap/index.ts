/** The V8 heap kept near its live size, on the main thread and in workers (trim.ts says why). */
export { HEAP_TRIM_BOUNDS, startHeapTrim, trimHeapIfGrown } from './trim.js';
export type { HeapTrimBounds, HeapTrimStats } from './trim.js';
