/** Traces: hotspan's spans (src/tracing) → the exporter's SpanRecord. The one place a span becomes OTLP. */
import type { Span } from '../tracing/index.js';
import { SpanKind, StatusCode } from './enums.js';
import type { Attributes, SpanRecord } from './types.js';

/** A span with its process's resource (decided by src/resource, never here). */
export function spanRecordOf(span: Span, resource: Attributes): SpanRecord {
  const rec: SpanRecord = {
    traceId: span.traceId,
    spanId: span.spanId,
    name: span.name,
    kind: span.kind === 'server' ? SpanKind.SERVER : SpanKind.CLIENT,
    startUnixNs: span.startUnixNs,
    endUnixNs: span.endUnixNs,
    attributes: span.attributes,
    resource,
  };
  if (span.parentSpanId !== undefined) rec.parentSpanId = span.parentSpanId;
  if (span.statusCode === 'error') rec.statusCode = StatusCode.ERROR;
  return rec;
}
