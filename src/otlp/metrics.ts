/**
 * Metrics, the one place a series becomes OTLP: hotspan's cumulative series (L4 flow sums from src/network/kernel, request-duration
 * histograms from src/tracing, self-metrics) → MetricPoint → ExportMetricsServiceRequest objects.
 * Resources are decided by the caller (src/resource); a point that cannot be encoded is skipped
 * and counted in `malformed`.
 */
import type { FlowMetricPoint } from '../network/kernel/index.js';
import type { HistogramPoint } from '../tracing/index.js';
import { groupByResource, idBytes, keyValues, MalformedRecordError, nanos, type Converted } from './attributes.js';
import { AggregationTemporality } from './enums.js';
import { hotspanScope } from './scope.js';
import type { Attributes, ExportMetricsServiceRequestObject, HistogramDataPointObject, MetricObject, MetricPoint, NumberDataPointObject } from './types.js';

/** Flow counters as monotonic cumulative integer sums. */
export function flowMetricPoints(points: readonly FlowMetricPoint[], resource: Attributes, startUnixNs: bigint, nowUnixNs: bigint): MetricPoint[] {
  return points.map((p) => ({
    name: p.name,
    unit: p.unit,
    kind: 'sum' as const,
    value: p.value,
    isInt: true,
    startUnixNs,
    timeUnixNs: nowUnixNs,
    attributes: { ...p.attributes },
    resource,
  }));
}

/** http.{server,client}.request.duration as cumulative explicit-bucket histograms, exemplars kept. */
export function durationMetricPoints(points: readonly HistogramPoint[], resource: Attributes, startUnixNs: bigint, nowUnixNs: bigint): MetricPoint[] {
  return points.map((p) => ({
    name: p.name,
    unit: p.unit,
    kind: 'histogram' as const,
    value: 0,
    startUnixNs,
    timeUnixNs: nowUnixNs,
    attributes: { ...p.attributes },
    resource,
    histogram: {
      explicitBounds: p.boundsS,
      bucketCounts: p.bucketCounts,
      count: p.count,
      sum: p.sumS,
      min: p.minS,
      max: p.maxS,
      exemplars: p.exemplars.map((e) => ({ value: e.valueS, timeUnixNs: e.timeUnixNs, traceId: e.traceId, spanId: e.spanId })),
    },
  }));
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
        else if (p.kind === 'histogram') m.histogram = { dataPoints: [], aggregationTemporality: AggregationTemporality.CUMULATIVE };
        else m.sum = { dataPoints: [], aggregationTemporality: AggregationTemporality.CUMULATIVE, isMonotonic: true };
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
