/**
 * Agent self-metrics as OTLP metric points: exporter counters per signal plus any counters the
 * agent adds (e.g. lost ring-buffer events), so the agent's health travels with its data.
 */
import type { SignalStats } from './pipeline.js';
import type { Attributes, MetricPoint, Signal } from './types.js';
import type { OtlpExporter } from './exporter.js';

const COUNTERS: Array<[keyof SignalStats, string, string]> = [
  ['exported', 'hotspan.otlp.exported', 'items accepted by the backend'],
  ['dropped', 'hotspan.otlp.dropped', 'items lost (queue overflow, permanent failure, retries exhausted, shutdown)'],
  ['droppedOverflow', 'hotspan.otlp.dropped_overflow', 'items evicted from a full queue'],
  ['retries', 'hotspan.otlp.retries', 're-sent export requests'],
  ['rejected', 'hotspan.otlp.rejected', 'items rejected in partial-success responses'],
  ['malformed', 'hotspan.otlp.malformed', 'items that could not be encoded'],
  ['bytesSent', 'hotspan.otlp.sent', 'encoded request bytes sent'],
];

export function selfMetricPoints(
  stats: Record<Signal, SignalStats>,
  resource: Attributes,
  startUnixNs: bigint,
  nowUnixNs: bigint,
  extraCounters: Record<string, number> = {},
): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const [signal, s] of Object.entries(stats) as Array<[Signal, SignalStats]>) {
    for (const [field, name, description] of COUNTERS) {
      points.push({
        name,
        description,
        unit: field === 'bytesSent' ? 'By' : '{item}',
        kind: 'sum',
        value: s[field],
        isInt: true,
        timeUnixNs: nowUnixNs,
        startUnixNs,
        attributes: { signal },
        resource,
      });
    }
    points.push({
      name: 'hotspan.otlp.queue_depth',
      description: 'items waiting in the export queue',
      unit: '{item}',
      kind: 'gauge',
      value: s.queueDepth,
      isInt: true,
      timeUnixNs: nowUnixNs,
      attributes: { signal },
      resource,
    });
  }
  for (const [name, value] of Object.entries(extraCounters)) {
    points.push({ name, kind: 'sum', value, isInt: Number.isInteger(value), timeUnixNs: nowUnixNs, startUnixNs, attributes: {}, resource });
  }
  return points;
}

/** Every intervalMs, queues the exporter's own counters (plus `extra()`) as metrics. Returns a stop function. */
export function startSelfMetrics(exporter: OtlpExporter, opts: { intervalMs: number; resource: Attributes; extra?: () => Record<string, number> }): () => void {
  const startUnixNs = BigInt(Date.now()) * 1_000_000n;
  const timer = setInterval(() => {
    const now = BigInt(Date.now()) * 1_000_000n;
    exporter.exportMetrics(selfMetricPoints(exporter.stats(), opts.resource, startUnixNs, now, opts.extra?.() ?? {}));
  }, opts.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
