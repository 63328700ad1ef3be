/**
 * Metrics: hotspan's cumulative series (L4 flow sums from src/network/kernel, request-duration
 * histograms from src/tracing) → the exporter's MetricPoint. Resources are decided by the caller.
 */
import type { FlowMetricPoint } from '../network/kernel/index.js';
import type { HistogramPoint } from '../tracing/index.js';
import type { Attributes, MetricPoint } from './types.js';

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
