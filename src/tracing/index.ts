/** Spans and duration histograms from L7 request records. */
import type { SpanRecord, Attributes } from '../otlp/index.js';
import type { Span } from './types.js';

export type * from './types.js';
export { createSpanBuilder, spanAttributes, normalizeMethod } from './spans.js';
export type { SpanBuilder, SpanBuilderOptions } from './spans.js';
export { createDurationHistograms, DURATION_BUCKETS_S, durationAttributes } from './metrics.js';
export type { DurationHistograms } from './metrics.js';

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
