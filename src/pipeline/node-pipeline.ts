/**
 * The node's profiling pipeline, started and stopped as one: profiler → (network capture → spans
 * → span join) → windows → sinks, with the timers that drive it and the network metrics it exports.
 * agent/ builds the sinks and the exporter and calls start/stop; everything in between is here.
 */
import { hostClock, type MonotonicClock } from '../clock/index.js';
import type { FeatureReport } from '../bpf/index.js';
import type { NetworkBounds } from '../network/index.js';
import type { Attributes, MetricPoint, SpanRecord } from '../otlp/index.js';
import { processAlive, Profiler, type ProfilerStats } from '../profiling/index.js';
import type { ProcessResources } from '../resource/index.js';
import type { HistogramPoint } from '../tracing/index.js';
import { JOIN_MAX_DELAY_MS, startNetworkSpans, type NetworkSpans } from './network-spans.js';
import { SampleFlow, type SampleFlowStats, type WindowSink } from './sample-flow.js';

export interface NodePipelineOptions {
  frequencyHz: number;
  /** Only this process (default: every process). */
  pid?: number;
  windowMs: number;
  /** Capture requests and join them with samples; omitted: profiling only. */
  network?: { keepQuery: boolean; bounds?: Partial<NetworkBounds>; features: FeatureReport };
  resources: ProcessResources;
  sinks: readonly WindowSink[];
  exportSpans: (spans: SpanRecord[]) => void;
  exportMetrics: (points: MetricPoint[]) => void;
  /** Resource of the agent's own series (flow metrics are the node's, not one process's). */
  agentResource: Attributes;
  log: (msg: string) => void;
  /** User stacks by .eh_frame tables (auto) or frame pointers only (off). */
  unwind?: 'auto' | 'off';
  clock?: MonotonicClock;
}

export interface NodePipeline {
  /** Profiler counters plus the flow's (windows) — the agent's health and self-metrics. */
  stats(): ProfilerStats & SampleFlowStats;
  /** Network self-metrics (empty without capture). */
  networkMetrics(): Record<string, number>;
  /** Request-duration histograms per process, for /metrics. */
  durationHistograms(): Array<{ resource: Attributes; points: HistogramPoint[] }>;
  /** Stops sampling and capture, decides every held sample, closes every window and sink. */
  stop(): Promise<void>;
}

const TICK_MS = 500;
const NETWORK_METRICS_MS = 10_000;
/** Re-takes the mono → wall offset this often, following NTP steps. */
const CLOCK_RESYNC_MS = 60_000;

export function startNodePipeline(opts: NodePipelineOptions): NodePipeline {
  const clock = opts.clock ?? hostClock;
  const periodNs = BigInt(Math.round(1e9 / opts.frequencyHz));
  const { resources } = opts;
  let profiler: Profiler | undefined;
  // The profiler's process table: /proc/PID read once, at a process's first sample.
  const processOf = (pid: number, comm: string) => profiler!.processInfo(pid, comm);
  const infoOf = (pid: number) => processOf(pid, String(pid));
  const resourceOf = (pid: number) => {
    resources.observe(pid, infoOf);
    return resources.of(infoOf(pid));
  };

  // With network capture, samples pass through the span join before windows; without it, straight in.
  const network: NetworkSpans | undefined = opts.network
    ? startNetworkSpans({
        periodNs,
        resourceOf,
        isAlive: (pid) => processAlive(pid),
        exportSpans: opts.exportSpans,
        log: opts.log,
        keepQuery: opts.network.keepQuery,
        ...(opts.network.bounds && { bounds: opts.network.bounds }),
        features: opts.network.features,
      })
    : undefined;

  const flow = new SampleFlow({
    windowMs: opts.windowMs,
    periodNs,
    processOf,
    identify: (p) => resources.identify(p),
    forgetIfExited: (pid) => {
      if (profiler!.forgetIfExited(pid)) resources.forget(pid);
    },
    sinks: opts.sinks,
    ...(network && { join: network }),
    // Samples leave the span join JOIN_MAX_DELAY_MS late: a window closed sooner would get a
    // second window of the same start for its last seconds, whose file overwrites the first.
    ...(network && { windowGraceMs: JOIN_MAX_DELAY_MS + 2_000 }),
    log: opts.log,
  });

  profiler = Profiler.start({
    frequencyHz: opts.frequencyHz,
    ...(opts.pid !== undefined && { pid: opts.pid }),
    ...(opts.unwind && { unwind: opts.unwind }),
    log: opts.log,
    onSamples: (samples) => {
      // Idempotent; starts a process's metadata lookup at its first sample.
      for (const s of samples) resources.observe(s.pid, infoOf);
      flow.addSamples(samples);
    },
  });

  let lastResyncMs = Date.now();
  const tick = setInterval(() => {
    if (Date.now() - lastResyncMs >= CLOCK_RESYNC_MS) {
      clock.resync();
      lastResyncMs = Date.now();
    }
    const now = clock.nowMonoNs();
    flow.tick(now, clock.toUnixNs(now));
    network?.exportReadySpans(now, false);
  }, TICK_MS);

  const startedUnixNs = BigInt(Date.now()) * 1_000_000n;
  const exportNetworkMetrics = () => {
    if (!network) return;
    const now = BigInt(Date.now()) * 1_000_000n;
    opts.exportMetrics([...network.flowMetricPoints(opts.agentResource, startedUnixNs, now), ...network.durationMetricPoints(startedUnixNs, now)]);
  };
  const metricsTimer = setInterval(exportNetworkMetrics, NETWORK_METRICS_MS);

  let stopped = false;
  return {
    stats: () => ({ ...profiler!.stats(), ...flow.stats() }),
    networkMetrics: () => network?.selfMetrics() ?? {},
    durationHistograms: () => network?.durationHistograms() ?? [],
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(tick);
      clearInterval(metricsTimer);
      await profiler!.stop();
      if (network) {
        // Capture first: the join then decides every pending sample with all it knows.
        await network.stopCapture();
        flow.drainJoin(clock.nowMonoNs());
        network.exportReadySpans(clock.nowMonoNs(), true);
        // The last interval's flows and durations: without this, whatever happened since the
        // previous 10 s export (a refused connect just before a rollout, say) was never exported.
        exportNetworkMetrics();
      }
      flow.close(clock.nowMonoNs());
    },
  };
}
