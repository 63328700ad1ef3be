/**
 * Embedded analytical store (DuckDB) for the four OTLP signals. See store.ts for the design and
 * types.ts for what queries return.
 */
export { Store, StoreError, defaultDataDir, DB_FILE_NAME, DEFAULT_MAX_BYTES, DEFAULT_RETENTION_MS } from './store.js';
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
export type { ServiceSummary, SpanListQuery, FlowSeries, NamedProfile, NamedStack } from './ui-queries.js';
