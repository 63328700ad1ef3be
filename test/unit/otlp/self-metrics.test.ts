import { describe, expect, it } from 'vitest';
import { decodeRequest, encodeRequest, metricsToOtlp, selfMetricPoints, attributesOf } from '../../../src/otlp/index.js';
import { emptyStats } from '../../../src/otlp/pipeline.js';

describe('self-metrics', () => {
  it("reports each signal's exporter counters and extra agent counters as OTLP metrics", () => {
    const stats = { traces: emptyStats(), metrics: emptyStats(), logs: emptyStats(), profiles: emptyStats() };
    stats.traces = { ...stats.traces, exported: 120, dropped: 7, droppedOverflow: 5, retries: 3, queueDepth: 42 };
    const points = selfMetricPoints(stats, { 'service.name': 'hotspan' }, 1000n, 2000n, { 'hotspan.ringbuf.lost_events': 9 });
    const req: any = decodeRequest('metrics', encodeRequest('metrics', metricsToOtlp(points).request));
    const metrics = req.resourceMetrics[0].scopeMetrics[0].metrics;
    const value = (name: string, signal?: string) => {
      const m = metrics.find((x: any) => x.name === name);
      const dps = (m.sum ?? m.gauge).dataPoints.filter((d: any) => signal === undefined || attributesOf(d.attributes)['signal'] === signal);
      return Number(dps[0].asInt);
    };
    expect(value('hotspan.otlp.exported', 'traces')).toBe(120);
    expect(value('hotspan.otlp.dropped', 'traces')).toBe(7);
    expect(value('hotspan.otlp.dropped_overflow', 'traces')).toBe(5);
    expect(value('hotspan.otlp.retries', 'traces')).toBe(3);
    expect(value('hotspan.otlp.queue_depth', 'traces')).toBe(42);
    expect(value('hotspan.otlp.exported', 'profiles')).toBe(0);
    expect(value('hotspan.ringbuf.lost_events')).toBe(9);
    expect(metrics.find((m: any) => m.name === 'hotspan.otlp.queue_depth').gauge).toBeTruthy();
    expect(metrics.find((m: any) => m.name === 'hotspan.otlp.retries').sum).toMatchObject({ isMonotonic: true, aggregationTemporality: 2 });
  });
});
