/** Spans and duration histograms from L7 request records. */

export type * from './types.js';
export { createSpanBuilder, spanAttributes, normalizeMethod, spanName, grpcStatusName, ATTR_ROUTE_INFERRED } from './spans.js';
export type { SpanBuilder, SpanBuilderOptions, InProgressSpan } from './spans.js';
export { createDurationHistograms, DURATION_BUCKETS_S, durationAttributes } from './metrics.js';
export type { DurationHistograms } from './metrics.js';
export { SpanProfileJoiner } from './span-profile-join.js';
export type { JoinOptions, JoinStats, RequestStartedEvent } from './span-profile-join.js';
export { ATTR_CPU_TIME, ATTR_CPU_SAMPLES, ATTR_CPU_AMBIGUOUS_SAMPLES, ATTR_CPU_HOTTEST_FUNCTION, ATTR_PYROSCOPE_PROFILE_ID, leafFunction } from './span-cpu.js';
