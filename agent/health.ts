import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { renderDurationHistograms, startHealthServer, type ProcessHistograms } from '../src/health/index.js';
import type { FeatureReport } from '../src/bpf/index.js';
import type { Backend } from './backend.js';

export interface Health {
  port: number;
  close(): Promise<void>;
}

/**
 * /healthz, /readyz and /metrics (Prometheus text) on `port`. The metrics are
 * the agent's own counters, read when scraped.
 */
export async function startHealth(
  port: number,
  ready: () => boolean,
  counters: () => Record<string, number | bigint>,
  backend: Backend,
  /** Request-duration histograms with exemplars (network capture), served on /metrics too. */
  durations: () => ProcessHistograms[] = () => [],
  features?: FeatureReport,
): Promise<Health> {
  const registry = new Registry();
  // The same metrics again in OpenMetrics form, for scrapers that ask for it (exemplars need it).
  const openRegistry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
  openRegistry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  collectDefaultMetrics({ register: registry, prefix: 'hotspan_process_' });
  collectDefaultMetrics({ register: openRegistry, prefix: 'hotspan_process_' });
  new Gauge({
    name: 'hotspan_agent_counter',
    help: 'hotspan agent counters (samples, lost samples, windows, spans, parse errors, ...)',
    labelNames: ['name'],
    registers: [registry, openRegistry],
    collect() {
      for (const [k, v] of Object.entries(counters())) this.set({ name: k }, Number(v));
    },
  });
  new Gauge({
    name: 'hotspan_export_items',
    help: 'OTLP export counts per signal and outcome',
    labelNames: ['signal', 'outcome'],
    registers: [registry, openRegistry],
    collect() {
      for (const [signal, st] of Object.entries(backend.exporter.stats())) {
        for (const [k, v] of Object.entries(st)) if (typeof v === 'number') this.set({ signal, outcome: k }, v);
      }
    },
  });
  if (features) {
    // Probed once at start: a kernel does not grow features while the agent runs.
    const g = new Gauge({
      name: 'hotspan_feature_available',
      help: 'whether this kernel has a hotspan feature (1) or the agent runs without it (0); see `hotspan doctor`',
      labelNames: ['feature', 'min_kernel'],
      registers: [registry, openRegistry],
    });
    for (const f of features.features) g.set({ feature: f.id, min_kernel: f.minKernel }, f.available ? 1 : 0);
  }
  // How long the event loop was held (a stalled loop delays samples, spans and /healthz alike):
  // max and p99 since the last scrape (of either format), then reset.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  new Gauge({
    name: 'hotspan_event_loop_delay_seconds',
    help: 'Event-loop delay of the agent since the previous scrape (max and p99)',
    labelNames: ['quantile'],
    registers: [registry, openRegistry],
    collect() {
      this.set({ quantile: 'max' }, loopDelay.max / 1e9);
      this.set({ quantile: '0.99' }, loopDelay.percentile(99) / 1e9);
      loopDelay.reset();
    },
  });
  const server = await startHealthServer({
    port,
    host: '0.0.0.0',
    ready,
    metrics: async () => (await registry.metrics()) + renderDurationHistograms(durations(), 'prometheus'),
    // OpenMetrics ends with one `# EOF`: the histograms go before it.
    openMetrics: async () => (await openRegistry.metrics()).replace(/# EOF\n$/, '') + renderDurationHistograms(durations(), 'openmetrics') + '# EOF\n',
  });
  return {
    port: server.port,
    close: () => {
      loopDelay.disable();
      return server.close();
    },
  };
}
