/** Spans and duration histograms from L7 request records. */
import type { SpanRecord, Attributes } from '../otlp/index.js';
import type { Span } from './types.js';

export type * from './types.js';
export { createSpanBuilder, spanAttributes, normalizeMethod, spanName, grpcStatusName, ATTR_ROUTE_INFERRED } from './spans.js';
export type { SpanBuilder, SpanBuilderOptions, InProgressSpan } from './spans.js';
export { createDurationHistograms, DURATION_BUCKETS_S, durationAttributes } from './metrics.js';
export type { DurationHistograms } from './metrics.js';
export { SpanProfileJoiner } from './span-profile-join.js';
export type { JoinOptions, JoinStats, RequestStartedEvent } from './span-profile-join.js';
export {
  ATTR_CPU_TIME,
  ATTR_CPU_SAMPLES,
  ATTR_CPU_AMBIGUOUS_SAMPLES,
  ATTR_CPU_HOTTEST_FUNCTION,
  ATTR_PYROSCOPE_PROFILE_ID,
  leafFunction,
} from './span-cpu.js';

/** Span → the OTLP exporter's SpanRecord (SERVER = 2, CLIENT = 3; status ERROR = 2). */
export function toSpanRecord(span: Span, resource: Attributes): SpanRecord {
  const rec: SpanRecord = {
    traceId: span.traceId,
    spanId: span.spanId,
    name: span.name,
    kind: span.kind === 'server' ? 2 : 3,
    startUnixNs: span.startUnixNs,
    endUnixNs: span.endUnixNs,
    attributes: span.attributes,
    resource,
  };
  if (span.parentSpanId !== undefined) rec.parentSpanId = span.parentSpanId;
  if (span.statusCode === 'error') rec.statusCode = 2;
  return rec;
}
