import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { startHealthServer } from '../src/health/index.js';
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
  features?: FeatureReport,
): Promise<Health> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hotspan_process_' });
  new Gauge({
    name: 'hotspan_agent_counter',
    help: 'hotspan agent counters (samples, lost samples, windows, spans, parse errors, ...)',
    labelNames: ['name'],
    registers: [registry],
    collect() {
      for (const [k, v] of Object.entries(counters())) this.set({ name: k }, Number(v));
    },
  });
  new Gauge({
    name: 'hotspan_export_items',
    help: 'OTLP export counts per signal and outcome',
    labelNames: ['signal', 'outcome'],
    registers: [registry],
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
      registers: [registry],
    });
    for (const f of features.features) g.set({ feature: f.id, min_kernel: f.minKernel }, f.available ? 1 : 0);
  }
  const server = await startHealthServer({ port, host: '0.0.0.0', ready, metrics: () => registry.metrics() });
  return { port: server.port, close: () => server.close() };
}
