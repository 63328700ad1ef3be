/**
 * Traces, the one place a span becomes OTLP: hotspan's spans (src/tracing) → SpanRecord (with the
 * resource src/resource decided) → ExportTraceServiceRequest objects (encode with proto-root).
 * A record that cannot be encoded (bad id, negative time) is skipped and counted in `malformed`.
 */
import type { Span } from '../tracing/index.js';
import { SpanKind, StatusCode } from './enums.js';
import { groupByResource, idBytes, keyValues, nanos, tryEach, type Converted } from './attributes.js';
import { hotspanScope } from './scope.js';
import type { Attributes, ExportTraceServiceRequestObject, SpanObject, SpanRecord } from './types.js';

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

export function spanObject(s: SpanRecord): SpanObject {
  return {
    traceId: idBytes(s.traceId, 16, 'traceId'),
    spanId: idBytes(s.spanId, 8, 'spanId'),
    traceState: '',
    parentSpanId: idBytes(s.parentSpanId, 8, 'parentSpanId'),
    flags: 0,
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: nanos(s.startUnixNs, 'startUnixNs'),
    endTimeUnixNano: nanos(s.endUnixNs, 'endUnixNs'),
    attributes: keyValues(s.attributes),
    droppedAttributesCount: 0,
    events: [],
    links: [],
    status: { message: s.statusMessage ?? '', code: s.statusCode ?? StatusCode.UNSET },
  };
}

export function spansToOtlp(spans: SpanRecord[]): Converted<ExportTraceServiceRequestObject> {
  const errors: string[] = [];
  const resourceSpans = [...groupByResource(spans).values()].map((g) => ({
    resource: { attributes: keyValues(g.resource), droppedAttributesCount: 0 },
    scopeSpans: [{ scope: hotspanScope(), spans: tryEach(g.items, spanObject, errors), schemaUrl: '' }],
    schemaUrl: '',
  }));
  return { request: { resourceSpans }, malformed: errors.length, firstError: errors[0] };
}
