// Network wiring: kernel capture → L7 engine → span builder, with the span ↔
// CPU sample join between the profiler and the windows (src/tracing/README.md
// says what the join needs from its caller; this file does exactly that).
import { existsSync } from 'node:fs';
import { NetCapture, createFlowMetrics, type FlowRecord } from '../src/network/kernel/index.js';
import { createL7Engine } from '../src/network/index.js';
import type { Attributes, MetricPoint, OtlpExporter } from '../src/otlp/index.js';
import type { CpuSample, ProcessInfo } from '../src/profiling/index.js';
import type { ProcessResources } from '../src/resource/index.js';
import { createDurationHistograms, createSpanBuilder, SpanProfileJoiner, toSpanRecord, type Span } from '../src/tracing/index.js';
import type { FeatureReport } from '../src/bpf/index.js';
import type { Log } from './node-agent.js';

export interface Network {
  addSamples(samples: CpuSample[]): void;
  /** Samples whose span attribution is decided; force=true on shutdown (after stopCapture). */
  drainSamples(nowMonoNs: bigint, force: boolean): CpuSample[];
  /** Exports the spans whose CPU annotation is complete (all of them with force). */
  exportReadySpans(nowMonoNs: bigint, force: boolean): void;
  stopCapture(): void;
  /** Cumulative flow metrics (bytes, connections by outcome, retransmits) as OTLP sums. */
  flowMetricPoints(resource: Attributes, startUnixNs: bigint, nowUnixNs: bigint): MetricPoint[];
  /** Cumulative http.{server,client}.request.duration histograms, one set per process (its resource). */
  durationMetricPoints(startUnixNs: bigint, nowUnixNs: bigint): MetricPoint[];
  selfMetrics(): Record<string, number>;
}

export interface NetworkOptions {
  periodNs: bigint;
  /** What is known of a process (read once from /proc). */
  processOf: (pid: number) => ProcessInfo;
  resources: ProcessResources;
  exporter: OtlpExporter;
  log: Log;
  keepQuery: boolean;
  features: FeatureReport;
}

/** How long the span join holds a sample before deciding it (more while the capture lags). */
export const JOIN_MAX_DELAY_MS = 3_000;

/**
 * Starts the network side; returns undefined (and says why) when the kernel
 * lacks what the capture needs — profiling goes on without it.
 */
export function startNetwork(opts: NetworkOptions): Network | undefined {
  const joiner = new SpanProfileJoiner({ periodNs: opts.periodNs, holdEndedSpans: true, maxDelayMs: JOIN_MAX_DELAY_MS });
  const builder = createSpanBuilder();
  // Per process, so that each service's RED metrics carry that service's resource.
  const histograms = new Map<number, ReturnType<typeof createDurationHistograms>>();
  const flowMetrics = createFlowMetrics();
  let spansExported = 0;
  let flowsFinished = 0;

  const exportSpans = (spans: Span[]) => {
    if (!spans.length) return;
    spansExported += spans.length;
    opts.exporter.exportSpans(spans.map((s) => toSpanRecord(s, opts.resources.of(opts.processOf(s.pid)))));
  };

  const engine = createL7Engine({
    keepQuery: opts.keepQuery,
    onRequestStart: (start) => {
      const span = builder.start(start);
      if (span && start.role !== 'client') {
        joiner.requestStarted({ pid: start.pid, tid: start.tid, startMonoNs: start.startMonoNs, traceId: span.traceId, spanId: span.spanId, spanName: span.name });
      }
    },
    onRequest: (record) => {
      const span = builder.build(record);
      let h = histograms.get(record.pid);
      if (!h) histograms.set(record.pid, (h = createDurationHistograms()));
      h.record(record);
      // Server spans wait in the joiner for their samples; client spans carry no CPU.
      if (span.kind === 'server') joiner.spanEnded(span);
      else exportSpans([span]);
    },
  });

  let capture: NetCapture;
  try {
    capture = NetCapture.start({
      onConnOpen: (o) => {
        joiner.networkProgress(o.timeMonoNs);
        engine.onConnOpen(o);
      },
      onConnClose: (c) => {
        joiner.networkProgress(c.timeMonoNs);
        engine.onConnClose(c);
      },
      onChunk: (c) => {
        joiner.networkProgress(c.timeMonoNs);
        engine.onChunk(c);
      },
      onFlow: (f: FlowRecord) => {
        flowsFinished++;
        flowMetrics.record(f);
      },
    }, { features: opts.features });
  } catch (err) {
    opts.log(`network capture unavailable, profiling only: ${(err as Error).message}`);
    return undefined;
  }
  if (capture.degraded.length) opts.log(`network: running without ${capture.degraded.join(', ')} (not attached: ${capture.missingOptional.join(', ') || 'none'})`);

  return {
    addSamples: (samples) => joiner.addSamples(samples),
    drainSamples: (now, force) => joiner.drain(now, force),
    exportReadySpans: (now, force) => exportSpans(joiner.drainSpans(now, force)),
    stopCapture: () => capture.close(),
    flowMetricPoints: (resource, startUnixNs, nowUnixNs) =>
      flowMetrics.collect().map((p) => ({
        name: p.name,
        unit: p.unit,
        kind: 'sum' as const,
        value: p.value,
        isInt: true,
        startUnixNs,
        timeUnixNs: nowUnixNs,
        attributes: { ...p.attributes },
        resource,
      })),
    durationMetricPoints: (startUnixNs, nowUnixNs) => {
      const out: MetricPoint[] = [];
      for (const [pid, h] of histograms) {
        const resource = opts.resources.of(opts.processOf(pid));
        for (const p of h.collect()) {
          out.push({
            name: p.name,
            unit: p.unit,
            kind: 'histogram',
            value: 0,
            startUnixNs,
            timeUnixNs: nowUnixNs,
            attributes: { ...p.attributes },
            resource,
            histogram: { explicitBounds: p.boundsS, bucketCounts: p.bucketCounts, count: p.count, sum: p.sumS, min: p.minS, max: p.maxS },
          });
        }
        // Its last cumulative value is out: an exited process's series ends here.
        if (!existsSync(`/proc/${pid}`)) histograms.delete(pid);
      }
      return out;
    },
    selfMetrics: () => {
      const j = joiner.stats();
      const c = engine.counters;
      return {
        'hotspan.spans.exported': spansExported,
        'hotspan.flows.finished': flowsFinished,
        'hotspan.http.parse_errors': c.parseErrors,
        'hotspan.http.gaps': c.gaps,
        'hotspan.samples.span_tagged': j.tagged,
        'hotspan.samples.span_ambiguous': j.ambiguous,
        'hotspan.samples.span_untagged': j.untagged,
      };
    },
  };
}
