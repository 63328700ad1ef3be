import { describe, expect, it } from 'vitest';
import { decodeRequest, encodeRequest, metricsToOtlp, type ExportMetricsServiceRequestObject, type MetricPoint } from '../../../src/otlp/index.js';
import { decodeMetrics } from '../../../src/store/decode-metrics.js';

const resource = { 'service.name': 'checkout', 'host.name': 'n1' };
const bounds = [0.005, 0.01, 0.025, 0.05];

function point(counts: number[], extra: Partial<MetricPoint> = {}): MetricPoint {
  const count = counts.reduce((a, b) => a + b, 0);
  return {
    name: 'http.server.request.duration',
    unit: 's',
    kind: 'histogram',
    value: 0,
    startUnixNs: 1_700_000_000_000_000_000n,
    timeUnixNs: 1_700_000_010_000_000_000n,
    attributes: { 'http.request.method': 'GET', 'http.route': '/items/{id}', 'http.response.status_code': 200 },
    resource,
    histogram: { explicitBounds: bounds, bucketCounts: counts, count, sum: 0.123, min: 0.001, max: 0.07 },
    ...extra,
  };
}

describe('OTLP histograms (RED duration metrics)', () => {
  it('round-trip through the protobuf wire format and into store rows unchanged', () => {
    const { request, malformed } = metricsToOtlp([point([3, 5, 0, 1, 2])]);
    expect(malformed).toBe(0);
    const decoded = decodeRequest<ExportMetricsServiceRequestObject>('metrics', encodeRequest('metrics', request, { normalize: true }));
    const m = decoded.resourceMetrics[0].scopeMetrics[0].metrics[0];
    expect(m.name).toBe('http.server.request.duration');
    expect(m.histogram!.aggregationTemporality).toBe(2);
    const dp = m.histogram!.dataPoints[0];
    expect(dp.count).toBe('11');
    expect(dp.bucketCounts).toEqual(['3', '5', '0', '1', '2']);
    expect(dp.explicitBounds).toEqual(bounds);
    expect(dp.sum).toBeCloseTo(0.123);
    const rows = decodeMetrics(decoded).metrics;
    expect(rows).toHaveLength(1);
    expect(rows[0].kind).toBe('histogram');
    expect(rows[0].bucketCounts).toEqual([3n, 5n, 0n, 1n, 2n]);
  });

  it('counts inconsistent histograms as malformed instead of sending them', () => {
    const bad = point([1, 1, 1, 1, 1]);
    bad.histogram = { ...bad.histogram!, count: 99 };
    const short = point([1, 1]);
    const { malformed, request } = metricsToOtlp([bad, short, point([1, 0, 0, 0, 0])]);
    expect(malformed).toBe(2);
    expect(request.resourceMetrics[0].scopeMetrics[0].metrics[0].histogram!.dataPoints).toHaveLength(1);
  });
});
