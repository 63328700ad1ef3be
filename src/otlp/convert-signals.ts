/**
 * Internal spans, metric points and log records → OTLP export requests (plain objects in the
 * protobufjs shape of types.ts; encode with proto-root.encodeRequest). Pure functions.
 *
 * A record that cannot be encoded (bad id, negative time) is skipped and counted in `malformed`,
 * so one bad producer record never loses its whole batch.
 */
import { groupByResource, idBytes, keyValues, MalformedRecordError, nanos, anyValue } from './attributes.js';
import { hotspanScope } from './scope.js';
import type {
  ExportLogsServiceRequestObject,
  ExportMetricsServiceRequestObject,
  ExportTraceServiceRequestObject,
  HistogramDataPointObject,
  LogRecord,
  LogRecordObject,
  MetricObject,
  MetricPoint,
  NumberDataPointObject,
  SpanObject,
  SpanRecord,
} from './types.js';

export interface Converted<T> {
  request: T;
  /** Records skipped because they could not be encoded. */
  malformed: number;
  /** Message of the first malformed record, for one log line per batch. */
  firstError?: string;
}

function tryEach<I, O>(items: I[], fn: (item: I) => O, errors: string[]): O[] {
  const out: O[] = [];
  for (const item of items) {
    try {
      out.push(fn(item));
    } catch (err) {
      if (!(err instanceof MalformedRecordError)) throw err;
      errors.push(err.message);
    }
  }
  return out;
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
    status: { message: s.statusMessage ?? '', code: s.statusCode ?? 0 },
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

function dataPoint(p: MetricPoint): NumberDataPointObject {
  if (!Number.isFinite(p.value)) throw new MalformedRecordError(`metric ${p.name}: value ${p.value} is not finite`);
  const point: NumberDataPointObject = {
    attributes: keyValues(p.attributes),
    startTimeUnixNano: nanos(p.startUnixNs, 'startUnixNs'),
    timeUnixNano: nanos(p.timeUnixNs, 'timeUnixNs'),
    flags: 0,
  };
  if (p.isInt) {
    if (!Number.isInteger(p.value)) throw new MalformedRecordError(`metric ${p.name}: isInt but value ${p.value}`);
    point.asInt = String(p.value);
  } else point.asDouble = p.value;
  return point;
}

function histogramPoint(p: MetricPoint): HistogramDataPointObject {
  const h = p.histogram;
  if (!h) throw new MalformedRecordError(`metric ${p.name}: kind histogram without buckets`);
  if (h.bucketCounts.length !== h.explicitBounds.length + 1) {
    throw new MalformedRecordError(`metric ${p.name}: ${h.bucketCounts.length} bucket counts for ${h.explicitBounds.length} bounds`);
  }
  const total = h.bucketCounts.reduce((a, b) => a + b, 0);
  if (total !== h.count) throw new MalformedRecordError(`metric ${p.name}: bucket counts add up to ${total}, count is ${h.count}`);
  const point: HistogramDataPointObject = {
    attributes: keyValues(p.attributes),
    startTimeUnixNano: nanos(p.startUnixNs, 'startUnixNs'),
    timeUnixNano: nanos(p.timeUnixNs, 'timeUnixNs'),
    count: String(h.count),
    sum: h.sum,
    bucketCounts: h.bucketCounts.map(String),
    explicitBounds: [...h.explicitBounds],
    flags: 0,
  };
  if (h.min !== undefined) point.min = h.min;
  if (h.max !== undefined) point.max = h.max;
  if (h.exemplars?.length) {
    point.exemplars = h.exemplars.map((e) => ({
      filteredAttributes: [],
      timeUnixNano: nanos(e.timeUnixNs, 'exemplar timeUnixNs'),
      asDouble: e.value,
      traceId: idBytes(e.traceId, 16, 'exemplar traceId'),
      spanId: idBytes(e.spanId, 8, 'exemplar spanId'),
    }));
  }
  return point;
}

export function metricsToOtlp(points: MetricPoint[]): Converted<ExportMetricsServiceRequestObject> {
  const errors: string[] = [];
  const resourceMetrics = [...groupByResource(points).values()].map((g) => {
    // One Metric per (name, kind, unit) within a resource; its points are the data points.
    const metrics = new Map<string, MetricObject>();
    for (const p of g.items) {
      let dp: NumberDataPointObject | HistogramDataPointObject;
      try {
        dp = p.kind === 'histogram' ? histogramPoint(p) : dataPoint(p);
      } catch (err) {
        if (!(err instanceof MalformedRecordError)) throw err;
        errors.push(err.message);
        continue;
      }
      const key = `${p.name}\0${p.kind}\0${p.unit ?? ''}`;
      let m = metrics.get(key);
      if (!m) {
        m = { name: p.name, description: p.description ?? '', unit: p.unit ?? '' };
        if (p.kind === 'gauge') m.gauge = { dataPoints: [] };
        else if (p.kind === 'histogram') m.histogram = { dataPoints: [], aggregationTemporality: 2 };
        else m.sum = { dataPoints: [], aggregationTemporality: 2, isMonotonic: true };
        metrics.set(key, m);
      }
      if (m.histogram) m.histogram.dataPoints.push(dp as HistogramDataPointObject);
      else (m.gauge ?? m.sum)!.dataPoints.push(dp as NumberDataPointObject);
    }
    return {
      resource: { attributes: keyValues(g.resource), droppedAttributesCount: 0 },
      scopeMetrics: [{ scope: hotspanScope(), metrics: [...metrics.values()], schemaUrl: '' }],
      schemaUrl: '',
    };
  });
  return { request: { resourceMetrics }, malformed: errors.length, firstError: errors[0] };
}

export function logObject(r: LogRecord): LogRecordObject {
  if (!Number.isInteger(r.severityNumber) || r.severityNumber < 0 || r.severityNumber > 24) {
    throw new MalformedRecordError(`log severityNumber ${r.severityNumber} is outside 0..24`);
  }
  return {
    timeUnixNano: nanos(r.timeUnixNs, 'timeUnixNs'),
    observedTimeUnixNano: nanos(r.observedUnixNs ?? r.timeUnixNs, 'observedUnixNs'),
    severityNumber: r.severityNumber,
    severityText: r.severityText ?? '',
    body: anyValue(r.body),
    attributes: keyValues(r.attributes),
    droppedAttributesCount: 0,
    flags: 0,
    traceId: idBytes(r.traceId, 16, 'traceId'),
    spanId: idBytes(r.spanId, 8, 'spanId'),
    eventName: '',
  };
}

export function logsToOtlp(records: LogRecord[]): Converted<ExportLogsServiceRequestObject> {
  const errors: string[] = [];
  const resourceLogs = [...groupByResource(records).values()].map((g) => ({
    resource: { attributes: keyValues(g.resource), droppedAttributesCount: 0 },
    scopeLogs: [{ scope: hotspanScope(), logRecords: tryEach(g.items, logObject, errors), schemaUrl: '' }],
    schemaUrl: '',
  }));
  return { request: { resourceLogs }, malformed: errors.length, firstError: errors[0] };
}
