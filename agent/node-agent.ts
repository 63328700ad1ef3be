// The daemon's wiring: profiler → (span join) → windows → pprof files, deploy
// watcher and OTLP; network capture → L7 engine → spans; metadata on all of it.
// Each part lives in src/; this file only connects them and owns their lifetimes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig } from '../src/config/index.js';
import { DeployWatcher, deployReportToLogRecord, type DeployDiffReport } from '../src/flamegraph/index.js';
import { detectHostResource, startSelfMetrics, type Attributes, type ExporterConfigInput } from '../src/otlp/index.js';
import { MonotonicClock, Profiler, PprofWindowWriter, WindowAggregator, type CpuSample, type ProfileWindow } from '../src/profiling/index.js';
import { ProcessResources } from '../src/resource/index.js';
import { describeDegraded, probeFeatures, type FeatureReport } from '../src/bpf/index.js';
import { DeployLog, startApi, type Api } from '../src/api/index.js';
import { startBackend, type Backend } from './backend.js';
import { startHealth, type Health } from './health.js';
import { startMetadata } from './metadata.js';
import { JOIN_MAX_DELAY_MS, startNetwork, type Network } from './network.js';

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
  const reportsDir = join(cfg.dataDir, 'reports');
  const deploys = new DeployWatcher({
    keepMs: cfg.deployKeepMs,
    settleMs: cfg.deploySettleMs,
    onReport: (r) => onDeployReport(r),
  });
  const deployLog = new DeployLog(50, reportsDir);
  for (const s of deployLog.skipped) log(`deploy report not read back: ${s}`);
  const onDeployReport = (r: DeployDiffReport) => {
    try {
      deployLog.add(r);
      mkdirSync(reportsDir, { recursive: true });
      const file = join(reportsDir, `${safe(r.service)}-${r.deployedAtUnixNs / 1_000_000n}.txt`);
      writeFileSync(file, r.text + '\n');
      log(`deploy of ${r.service} ${r.fromVersion} → ${r.toVersion}: report in ${file}`);
    } catch (e) {
      log(`writing a deploy report failed: ${(e as Error).message}`);
    }
    // Filed under the deployed service on this host, not under the agent (whose pid is not the service's).
    backend.exporter.exportLogs([deployReportToLogRecord(r, host)]);
  };

  let profiler: Profiler | undefined;
  const onWindow = (w: ProfileWindow) => {
    resources.enrich(w.process);
    if (cfg.writePprofWindows) writer.write(w);
    deploys.add(w);
    backend.exporter.exportProfiles([w]);
    if (profiler?.forgetIfExited(w.process.pid)) resources.forget(w.process.pid);
  };
  const periodNs = BigInt(Math.round(1e9 / cfg.frequencyHz));
  const processOf = (pid: number) => {
    resources.observe(pid);
    return profiler!.processInfo(pid, String(pid));
  };
  // Samples leave the span join JOIN_MAX_DELAY_MS late: a window closed sooner would get a
  // second window of the same start for its last seconds, whose file overwrites the first.
  const windowGraceMs = cfg.network ? JOIN_MAX_DELAY_MS + 2_000 : undefined;
  const windows = new WindowAggregator(cfg.windowMs, periodNs, (pid, comm) => profiler!.processInfo(pid, comm), onWindow, windowGraceMs);
  const clock = new MonotonicClock();

  // With network capture, samples pass through the span join before windows; without it, straight in.
  const network: Network | undefined = cfg.network
    ? startNetwork({ periodNs, processOf, resources, exporter: backend.exporter, log, keepQuery: cfg.keepQueryStrings, bounds: cfg.networkBounds, features })
    : undefined;
  const toWindows = (samples: CpuSample[]) => {
    for (const s of samples) windows.add(s);
  };
  profiler = Profiler.start({
    frequencyHz: cfg.frequencyHz,
    pid: cfg.pid,
    unwind: features.has('eh-frame-unwind') ? cfg.unwind : 'off', log, // unavailable: said in the degraded-features line
    onSamples: (samples) => {
      // Idempotent; starts a process's metadata lookup at its first sample.
      for (const s of samples) resources.observe(s.pid);
      if (network) network.addSamples(samples);
      else toWindows(samples);
    },
  });
  const tick = setInterval(() => {
    const now = clock.nowMonoNs();
    if (network) {
      toWindows(network.drainSamples(now, false));
      network.exportReadySpans(now, false);
    }
    windows.flushExpired(clock.toUnixNs(now));
  }, 500);
  const pruneTimer = setInterval(() => writer.prune(), 60_000);
  const startedUnixNs = BigInt(Date.now()) * 1_000_000n;
  const exportNetworkMetrics = () => {
    if (!network) return;
    const now = BigInt(Date.now()) * 1_000_000n;
    backend.exporter.exportMetrics([...network.flowMetricPoints(agentResource, startedUnixNs, now), ...network.durationMetricPoints(startedUnixNs, now)]);
  };
  const metricsTimer = setInterval(exportNetworkMetrics, 10_000);
  const stopSelfMetrics = startSelfMetrics(backend.exporter, {
    intervalMs: 10_000,
    resource: agentResource,
    extra: () => {
      const s = profiler!.stats();
      return { 'hotspan.samples': s.samples, 'hotspan.samples.lost': Number(s.lost), 'hotspan.windows': s.windows, ...(network?.selfMetrics() ?? {}) };
    },
  });
  let ready = true;
  let health: Health | undefined;
  if (cfg.healthPort) {
    try {
      health = await startHealth(cfg.healthPort, () => ready, () => ({ ...profiler!.stats(), ...(network?.selfMetrics() ?? {}) }), backend, () => network?.durationHistograms() ?? [], features);
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
    stats: () => ({ ...profiler!.stats(), windowsWritten: writer.written }),
    async stop() {
      ready = false;
      clearInterval(tick);
      clearInterval(pruneTimer);
      clearInterval(metricsTimer);
      stopSelfMetrics();
      await profiler!.stop();
      if (network) {
        // Capture first: the join then decides every pending sample with all it knows.
        await network.stopCapture();
        toWindows(network.drainSamples(clock.nowMonoNs(), true));
        network.exportReadySpans(clock.nowMonoNs(), true);
        // The last interval's flows and durations: without this, whatever happened since the
        // previous 10 s export (a refused connect just before a rollout, say) was never exported.
        exportNetworkMetrics();
      }
      windows.flushAll();
      deploys.close();
      await api?.close();
      await health?.close();
      metadata.stop();
      await backend.close(5_000);
    },
  };
}

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_') || 'unknown';
}
