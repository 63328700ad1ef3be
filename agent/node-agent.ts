// The daemon's wiring: the backend (exporter + embedded store), the sample flow's sinks (pprof
// files, deploy watcher, OTLP), the node pipeline (src/pipeline), metadata, health and UI.
// Everything with behaviour lives in src/; this file only builds the parts and owns their lifetimes.
import { join } from 'node:path';
import type { AgentConfig } from '../src/config/index.js';
import { DeployWatcher } from '../src/flamegraph/index.js';
import { startSelfMetrics, type Attributes, type ExporterConfigInput } from '../src/otlp/index.js';
import { PprofWindowWriter } from '../src/profiling/index.js';
import { deployReportSink, startNodePipeline, type WindowSink } from '../src/pipeline/index.js';
import { detectHostResource, ProcessResources } from '../src/resource/index.js';
import { describeDegraded, probeFeatures, type FeatureReport } from '../src/bpf/index.js';
import { DeployLog, startApi, type Api } from '../src/api/index.js';
import { startHeapTrim } from '../src/heap/index.js';
import { describeMissingNodeFlags } from './node-flags.js';
import { startBackend, type Backend } from './backend.js';
import { startHealth, type Health } from './health.js';
import { startMetadata } from './metadata.js';

export interface NodeAgent {
  ready(): boolean;
  stop(): Promise<void>;
  stats(): Record<string, number | bigint>;
}

export type Log = (msg: string) => void;

export async function startNodeAgent(
  cfg: AgentConfig,
  log: Log,
  exporterCli: ExporterConfigInput = {},
  features: FeatureReport = probeFeatures(),
): Promise<NodeAgent> {
  // The main isolate's heap kept near its live size (src/heap/trim.ts says why); first,
  // before any worker thread starts.
  const heapTrim = startHeapTrim();
  const missingFlags = describeMissingNodeFlags();
  if (missingFlags) log(missingFlags);
  const degraded = describeDegraded(features);
  if (degraded) log(degraded);
  const host = await detectHostResource();
  const metadata = startMetadata(log);
  const resources = new ProcessResources(host, metadata.lookup, process.env, { exportCommandArgs: cfg.exportCommandArgs });
  // The agent's own telemetry (self-metrics, deploy reports) is named by its own OTEL_SERVICE_NAME.
  const agentResource: Attributes = { ...host, 'service.name': process.env.OTEL_SERVICE_NAME?.trim() || 'hotspan', 'process.pid': process.pid };
  const backend: Backend = await startBackend(
    cfg.dataDir,
    { log, profiles: { resourceOf: (p) => resources.of(p) } },
    exporterCli,
    cfg.exporterFile as ExporterConfigInput,
  );
  log(`exporting ${backend.describe()}`);

  const writer = new PprofWindowWriter(join(cfg.dataDir, 'profiles'), cfg.pprofRetentionMs, (e) => log(`writing a profile failed: ${e.message}`));
  const pruneTimer = setInterval(() => writer.prune(), 60_000);
  const deployLog = new DeployLog(50, join(cfg.dataDir, 'reports'));
  for (const skipped of deployLog.skipped) log(`deploy report not read back: ${skipped}`);
  const deploys = new DeployWatcher({
    keepMs: cfg.deployKeepMs,
    settleMs: cfg.deploySettleMs,
    onReport: deployReportSink({
      reportsDir: join(cfg.dataDir, 'reports'),
      host,
      keep: (r) => deployLog.add(r),
      exportLogs: (logs) => backend.exporter.exportLogs(logs),
      log,
    }),
  });
  const sinks: WindowSink[] = [
    ...(cfg.writePprofWindows ? [{ name: 'pprof files', write: (w) => void writer.write(w) } satisfies WindowSink] : []),
    { name: 'deploy watcher', write: (w) => deploys.add(w), close: () => deploys.close() },
    { name: 'otlp profiles', write: (w) => backend.exporter.exportProfiles([w]) },
  ];

  const pipeline = startNodePipeline({
    frequencyHz: cfg.frequencyHz,
    unwind: features.has('eh-frame-unwind') ? cfg.unwind : 'off', // unavailable: said in the degraded-features line
    ...(cfg.pid !== undefined && { pid: cfg.pid }),
    windowMs: cfg.windowMs,
    ...(cfg.network && { network: { keepQuery: cfg.keepQueryStrings, ...(cfg.networkBounds && { bounds: cfg.networkBounds }), features } }),
    resources,
    sinks,
    exportSpans: (spans) => backend.exporter.exportSpans(spans),
    exportMetrics: (points) => backend.exporter.exportMetrics(points),
    agentResource,
    log,
  });
  const stopSelfMetrics = startSelfMetrics(backend.exporter, {
    intervalMs: 10_000,
    resource: agentResource,
    extra: () => {
      const s = pipeline.stats();
      return { 'hotspan.samples': s.samples, 'hotspan.samples.lost': Number(s.lost), 'hotspan.windows': s.windows, ...pipeline.networkMetrics() };
    },
  });
  let ready = true;
  let health: Health | undefined;
  if (cfg.healthPort) {
    try {
      health = await startHealth(
        cfg.healthPort,
        () => ready,
        () => ({ ...pipeline.stats(), ...pipeline.networkMetrics() }),
        backend,
        () => pipeline.durationHistograms(),
        features,
      );
    } catch (e) {
      // Profiling matters more than its health endpoint: say so and go on.
      log(`health endpoint not started on port ${cfg.healthPort}: ${(e as Error).message}; fix: set HOTSPAN_HEALTH_PORT to a free port`);
    }
  }

  let api: Api | undefined;
  if (cfg.uiPort !== 0) {
    try {
      api = await startApi({
        host: cfg.uiHost,
        port: Math.max(0, cfg.uiPort),
        ...(cfg.uiToken !== undefined && { token: cfg.uiToken }),
        store: backend.embedded?.store,
        deploys: deployLog,
        dataDir: cfg.dataDir,
        log,
      });
      log(`ui: ${api.url} (API under ${api.url}api/v1/)`);
    } catch (e) {
      // Like the health endpoint: profiling goes on without its UI.
      log(`ui not started on ${cfg.uiHost}:${cfg.uiPort}: ${(e as Error).message}; fix: set HOTSPAN_UI_PORT to a free port (0 disables)`);
    }
  }

  return {
    ready: () => ready,
    stats: () => ({ ...pipeline.stats(), windowsWritten: writer.written }),
    async stop() {
      ready = false;
      clearInterval(pruneTimer);
      stopSelfMetrics();
      // Each phase is timed: a stop that nears the shutdown deadline says where its time went.
      const phases: string[] = [];
      const t0 = performance.now();
      let t = t0;
      const done = (phase: string) => {
        const now = performance.now();
        phases.push(`${phase} ${((now - t) / 1000).toFixed(1)} s`);
        t = now;
      };
      await pipeline.stop();
      done('samples and spans');
      await api?.close();
      await health?.close();
      metadata.stop();
      heapTrim.stop();
      done('servers');
      await backend.close(5_000);
      done('export and store');
      if (t - t0 > 5_000) log(`stop took ${((t - t0) / 1000).toFixed(1)} s: ${phases.join(', ')}`);
    },
  };
}
