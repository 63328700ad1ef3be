/**
 * Exemplars: the slowest traced request per bucket per interval, carried to OTLP (after a trip
 * through the wire) and to /metrics in OpenMetrics syntax, checked by the Prometheus Python
 * client's strict OpenMetrics parser (python3-prometheus-client), not by our own reading.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../../src/network/index.js';
import { createDurationHistograms } from '../../../src/tracing/index.js';
import { decodeRequest, encodeRequest, metricsToOtlp, type MetricPoint } from '../../../src/otlp/index.js';
import { renderDurationHistograms, startHealthServer } from '../../../src/health/index.js';

const T0 = 1_700_000_000_000_000_000n;
const ROOT = join(import.meta.dirname, '../../..');

function rec(ms: number, i: number): RequestRecord {
  return {
    pid: 1,
    requestTid: 1,
    role: 'server',
    protocol: 'http1',
    httpVersion: '1.1',
    method: 'GET',
    path: `/u/${i}`,
    route: '/u/{id}',
    status: 200,
    requestBodyBytes: 0,
    responseBodyBytes: 0,
    startMonoNs: 0n,
    endMonoNs: BigInt(Math.round(ms * 1e6)),
    startUnixNs: T0,
    endUnixNs: T0 + BigInt(i) * 1_000_000n,
    connCookie: 1n,
    fd: 3,
    requestId: `r${i}`,
  };
}
const ids = (i: number) => ({ traceId: i.toString(16).padStart(32, '0'), spanId: i.toString(16).padStart(16, '0') });

function parseOpenMetrics(text: string): any[] {
  // Debian's python3 (where apt installs python3-prometheus-client), not whatever python3 is first on PATH.
  const out = execFileSync('/usr/bin/python3', [join(ROOT, 'test/support/openmetrics-check.py')], { input: text, encoding: 'utf8' });
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('duration exemplars', () => {
  it('keep the slowest traced request per bucket, per interval, with its trace and span id', () => {
    const h = createDurationHistograms();
    // Bucket 0 (≤5 ms): 1, 4, 2 ms → slowest is #2; bucket 6 (≤250 ms): 200 ms #4; untraced 240 ms does not count.
    h.record(rec(1, 1), ids(1));
    h.record(rec(4, 2), ids(2));
    h.record(rec(2, 3), ids(3));
    h.record(rec(200, 4), ids(4));
    h.record(rec(240, 5));
    const [p] = h.collect({ endInterval: true });
    expect(p!.exemplars.map((e) => [e.bucket, e.spanId, e.valueS])).toEqual([
      [0, ids(2).spanId, 0.004],
      [6, ids(4).spanId, 0.2],
    ]);
    // Next interval: bucket 0 gets a new one; bucket 6 falls back to the last interval's.
    h.record(rec(3, 6), ids(6));
    const [q] = h.collect();
    expect(q!.exemplars.map((e) => [e.bucket, e.spanId])).toEqual([
      [0, ids(6).spanId],
      [6, ids(4).spanId],
    ]);
  });

  it('reach OTLP HistogramDataPoint.exemplars with trace and span id bytes', () => {
    const h = createDurationHistograms();
    h.record(rec(4, 2), ids(2));
    const [p] = h.collect({ endInterval: true });
    const point: MetricPoint = {
      name: p!.name,
      unit: 's',
      kind: 'histogram',
      value: 0,
      startUnixNs: T0,
      timeUnixNs: T0 + 10n,
      attributes: p!.attributes,
      resource: { 'service.name': 'svc' },
      histogram: {
        explicitBounds: p!.boundsS,
        bucketCounts: p!.bucketCounts,
        count: p!.count,
        sum: p!.sumS,
        exemplars: p!.exemplars.map((e) => ({ value: e.valueS, timeUnixNs: e.timeUnixNs, traceId: e.traceId, spanId: e.spanId })),
      },
    };
    const wire = decodeRequest<any>('metrics', encodeRequest('metrics', metricsToOtlp([point]).request));
    const ex = wire.resourceMetrics[0].scopeMetrics[0].metrics[0].histogram.dataPoints[0].exemplars;
    expect(ex).toHaveLength(1);
    expect(ex[0].traceId.toString('hex')).toBe(ids(2).traceId);
    expect(ex[0].spanId.toString('hex')).toBe(ids(2).spanId);
    expect(ex[0].asDouble).toBe(0.004);
    expect(ex[0].timeUnixNano).toBe(String(T0 + 2_000_000n));
  });

  it('render as OpenMetrics exemplars that the Prometheus client parser accepts, only when asked for', async () => {
    const h = createDurationHistograms();
    for (let i = 1; i <= 20; i++) h.record(rec(i * 13, i), ids(i));
    const processes = [{ resource: { 'service.name': 'svc "q"', 'process.pid': 1 }, points: h.collect() }];
    const server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      ready: () => true,
      metrics: () => renderDurationHistograms(processes, 'prometheus'),
      openMetrics: () => renderDurationHistograms(processes, 'openmetrics') + '# EOF\n',
    });
    try {
      const om = await fetch(`http://127.0.0.1:${server.port}/metrics`, {
        headers: { accept: 'application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5' },
      });
      expect(om.headers.get('content-type')).toMatch(/^application\/openmetrics-text; version=1.0.0/);
      const samples = parseOpenMetrics(await om.text());
      const buckets = samples.filter((s) => s.name === 'http_server_request_duration_seconds_bucket');
      expect(buckets).toHaveLength(15);
      expect(buckets.at(-1)).toMatchObject({ labels: { le: '+Inf', service_name: 'svc "q"', hotspan_http_route_inferred: '/u/{id}' }, value: 20 });
      const withEx = buckets.filter((b) => b.exemplar);
      expect(withEx.length).toBeGreaterThan(3);
      for (const b of withEx) {
        // Exemplar inside its bucket, and one of the recorded spans (slowest of the bucket).
        expect(b.exemplar.value).toBeLessThanOrEqual(b.labels.le === '+Inf' ? Infinity : Number(b.labels.le));
        const i = Math.round((b.exemplar.value * 1000) / 13);
        expect(b.exemplar.labels).toEqual({ trace_id: ids(i).traceId, span_id: ids(i).spanId });
        // The slowest of its bucket: the next recorded request (i+1)·13 ms is past the bound.
        if (i < 20) expect(((i + 1) * 13) / 1000).toBeGreaterThan(Number(b.labels.le));
      }
      const plain = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(plain.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
      const text = await plain.text();
      expect(text).toContain('http_server_request_duration_seconds_bucket{');
      expect(text).not.toContain('# {trace_id');
    } finally {
      await server.close();
    }
  });
});
