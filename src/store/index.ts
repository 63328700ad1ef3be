/**
 * Embedded analytical store (DuckDB) for the four OTLP signals. See store.ts for the design and
 * types.ts for what queries return.
 */
import { Store as LocalStore } from './store.js';
import type { StoreApi } from './api.js';

/**
 * `Store.open()` opens the store in this thread (CLI commands reading a store no agent holds);
 * `openStoreWorker()` opens it on its own thread (the agent). As a type, `Store` is the async
 * surface both have, so callers take either.
 */
export const Store = LocalStore;
export type Store = StoreApi;
export type { LocalStore, StoreApi };
export { openStoreWorker, isStoreWorker, type StoreWorkerOptions } from './remote.js';
export { StoreError, defaultDataDir, DB_FILE_NAME, DEFAULT_MAX_BYTES, DEFAULT_RETENTION_MS } from './store.js';
export type { StoreErrorCode } from './store.js';
export { toPprof, mergedToPprofProfile } from './pprof.js';
export type {
  MergeLabel,
  MergeQuery,
  MergedProfile,
  MergedStack,
  ServiceVersion,
  SpanRow,
  SpanSample,
  StoreOptions,
  StoreStats,
  StoredFrame,
} from './types.js';
export { serviceSummaries, listSpans, spanById, traceSpans, flowSummary, mergeStackNames, SPAN_KIND_SERVER } from './ui-queries.js';
export type { ServiceSummary, SpanListQuery, FlowSeries, NamedProfile, NamedStack, StackNamesQuery } from './ui-queries.js';
