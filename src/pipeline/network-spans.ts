/**
 * The network side of the sample flow: kernel capture → L7 engine → spans, with the span ↔ CPU
 * sample join between the profiler and the windows (src/tracing/README.md says what the join
 * needs from its caller; this file does exactly that). Spans leave as SpanRecords with their
 * process's resource; RED histograms are kept per process so each carries its service's resource.
 */
import { NetCapture, createFlowMetrics, type FlowRecord } from '../network/kernel/index.js';
import { createL7Engine, routeCacheStats, type NetworkBounds } from '../network/index.js';
import { durationMetricPoints, flowMetricPoints, spanRecordOf, type Attributes, type MetricPoint, type SpanRecord } from '../otlp/index.js';
import type { CpuSample } from '../profiling/index.js';
import { createDurationHistograms, createSpanBuilder, SpanProfileJoiner, type HistogramPoint, type Span } from '../tracing/index.js';
import type { FeatureReport } from '../bpf/index.js';

/** How long the span join holds a sample before deciding it (more while the capture lags). */
export const JOIN_MAX_DELAY_MS = 3_000;

export interface NetworkSpans {
  addSamples(samples: CpuSample[]): void;
  /** Samples whose span attribution is decided; force=true on shutdown (after stopCapture). */
  drainSamples(nowMonoNs: bigint, force: boolean): CpuSample[];
  /** Exports the spans whose CPU annotation is complete (all of them with force). */
  exportReadySpans(nowMonoNs: bigint, force: boolean): void;
  /** Resolves once the capture's last batch has reached the engine. */
  stopCapture(): Promise<void>;
  /** Cumulative flow metrics (bytes, connections by outcome, retransmits) as OTLP sums. */
  flowMetricPoints(resource: Attributes, startUnixNs: bigint, nowUnixNs: bigint): MetricPoint[];
  /** Cumulative http.{server,client}.request.duration histograms, one set per process (its resource). */
  durationMetricPoints(startUnixNs: bigint, nowUnixNs: bigint): MetricPoint[];
  /** The same histograms for /metrics (exemplar interval left open), with each process's resource. */
  durationHistograms(): Array<{ resource: Attributes; points: HistogramPoint[] }>;
  selfMetrics(): Record<string, number>;
}

export interface NetworkSpansOptions {
  periodNs: bigint;
  /** The resource of a process (src/resource decides it). */
  resourceOf: (pid: number) => Attributes;
  /** False once a process has exited: its last histogram values are out, its series ends. */
  isAlive: (pid: number) => boolean;
  exportSpans: (spans: SpanRecord[]) => void;
  log: (msg: string) => void;
  keepQuery: boolean;
  /** L7 engine memory bounds (config: networkBounds). */
  bounds?: Partial<NetworkBounds>;
  features: FeatureReport;
}

/**
 * Starts the network side; returns undefined (and says why) when the kernel
 * lacks what the capture needs — profiling goes on without it.
 */
export function startNetworkSpans(opts: NetworkSpansOptions): NetworkSpans | undefined {
  const joiner = new SpanProfileJoiner({ periodNs: opts.periodNs, holdEndedSpans: true, maxDelayMs: JOIN_MAX_DELAY_MS });
  const builder = createSpanBuilder();
  const histograms = new Map<number, ReturnType<typeof createDurationHistograms>>();
  const flowMetrics = createFlowMetrics();
  let spansExported = 0;
  let flowsFinished = 0;

  const exportSpans = (spans: Span[]) => {
    if (!spans.length) return;
    spansExported += spans.length;
    opts.exportSpans(spans.map((s) => spanRecordOf(s, opts.resourceOf(s.pid))));
  };

  const engine = createL7Engine({
    keepQuery: opts.keepQuery,
    ...(opts.bounds && { bounds: opts.bounds }),
    onRequestStart: (start) => {
      const span = builder.start(start);
      if (span && start.role !== 'client') {
        joiner.requestStarted({
          pid: start.pid,
          tid: start.tid,
          startMonoNs: start.startMonoNs,
          traceId: span.traceId,
          spanId: span.spanId,
          spanName: span.name,
        });
      }
    },
    onRequest: (record) => {
      const span = builder.build(record);
      let h = histograms.get(record.pid);
      if (!h) histograms.set(record.pid, (h = createDurationHistograms()));
      h.record(record, span);
      // Server spans wait in the joiner for their samples; client spans carry no CPU.
      if (span.kind === 'server') joiner.spanEnded(span);
      else exportSpans([span]);
    },
  });

  let capture: NetCapture;
  try {
    capture = NetCapture.start(
      {
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
      },
      { features: opts.features },
    );
  } catch (err) {
    opts.log(`network capture unavailable, profiling only: ${(err as Error).message}`);
    return undefined;
  }
  if (capture.degraded.length)
    opts.log(`network: running without ${capture.degraded.join(', ')} (not attached: ${capture.missingOptional.join(', ') || 'none'})`);

  return {
    addSamples: (samples) => joiner.addSamples(samples),
    drainSamples: (now, force) => joiner.drain(now, force),
    exportReadySpans: (now, force) => exportSpans(joiner.drainSpans(now, force)),
    stopCapture: () => capture.close(),
    flowMetricPoints: (resource, startUnixNs, nowUnixNs) => flowMetricPoints(flowMetrics.collect(), resource, startUnixNs, nowUnixNs),
    durationMetricPoints: (startUnixNs, nowUnixNs) => {
      const out: MetricPoint[] = [];
      for (const [pid, h] of histograms) {
        out.push(...durationMetricPoints(h.collect({ endInterval: true }), opts.resourceOf(pid), startUnixNs, nowUnixNs));
        // Its last cumulative value is out: an exited process's series ends here.
        if (!opts.isAlive(pid)) histograms.delete(pid);
      }
      return out;
    },
    durationHistograms: () => [...histograms].map(([pid, h]) => ({ resource: opts.resourceOf(pid), points: h.collect() })),
    selfMetrics: () => {
      const j = joiner.stats();
      const c = engine.counters;
      return {
        'hotspan.spans.exported': spansExported,
        'hotspan.flows.finished': flowsFinished,
        'hotspan.http.parse_errors': c.parseErrors,
        'hotspan.http.gaps': c.gaps,
        // Network engine bounds (README "Network engine bounds"): how often each was hit, and the memory held.
        'hotspan.http.engine_bytes': engine.bufferedBytes(),
        'hotspan.http.bound.budget_shed_connections': c.budgetShedConnections,
        'hotspan.http.bound.evicted_connections': c.evictedConnections,
        'hotspan.http.bound.hpack_table_capped': c.hpackTableCapped,
        'hotspan.http.bound.streams_capped': c.streamsCapped,
        'hotspan.http.bound.header_blocks_capped': c.headerBlocksCapped,
        'hotspan.http.bound.route_cache_evictions': routeCacheStats().evictions,
        'hotspan.http.dropped_requests': c.droppedRequests,
        'hotspan.samples.span_tagged': j.tagged,
        'hotspan.samples.span_ambiguous': j.ambiguous,
        'hotspan.samples.span_untagged': j.untagged,
        // Why samples went untagged beyond "no request in flight": each is a bound or a race, and
        // a rising one says which (src/tracing/span-profile-join.ts names each).
        'hotspan.samples.span_untagged.overflow': j.overflow,
        'hotspan.samples.span_untagged.late': j.late,
        'hotspan.samples.span_untagged.tainted': j.tainted,
        'hotspan.samples.span_untagged.handoff': j.handoff,
        'hotspan.samples.span_untagged.stale': j.stale,
      };
    },
  };
}
