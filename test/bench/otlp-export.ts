/**
 * OTLP export benchmark (report only, asserts nothing about time):
 *  1. spans/s encoded and sent over OTLP/gRPC to a loopback receiver in another process, the
 *     exporter pinned to one core (the receiver to the other), vs. protobufjs encode alone;
 *  2. profile bytes/s and windows/s the same way;
 *  3. RSS growth of an exporter whose receiver is down, over OTLP_BENCH_OUTAGE_S seconds
 *     (default 300 = the 5-minute outage of the acceptance criteria; target ≤ 20 MB), next to a
 *     control process producing the same data into a discarding exporter, and the live heap
 *     growth after forced GC. OTLP_BENCH_OUTAGE_S=0 skips it.
 * Run: node --import tsx test/bench/otlp-export.ts   (or npm run bench -- otlp)
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { cpus } from 'node:os';
import {
  createOtlpExporter,
  encodeRequest,
  resolveExporterConfig,
  spansToOtlp,
  startOtlpReceiver,
  type OtlpExporter,
  type OtlpSink,
  type SpanRecord,
} from '../../src/otlp/index.js';
import type { ProfileWindow } from '../../src/profiling/types.js';

const resource = { 'service.name': 'bench', 'host.name': 'bench-host', 'process.pid': 1 };
const span = (i: number): SpanRecord => ({
  traceId: (0xabc000000 + i).toString(16).padStart(32, '0'),
  spanId: (i + 1).toString(16).padStart(16, '0'),
  parentSpanId: 'ffffffffffffffff',
  name: 'GET /api/items/{id}',
  kind: 2,
  startUnixNs: 1_700_000_000_000_000_000n + BigInt(i) * 1000n,
  endUnixNs: 1_700_000_000_000_000_000n + BigInt(i) * 1000n + 123_456n,
  attributes: { 'http.request.method': 'GET', 'http.route': '/api/items/{id}', 'http.response.status_code': 200, 'server.port': 8080 },
  resource,
});

function profileWindow(k: number): ProfileWindow {
  const frames = Array.from({ length: 40 }, (_, i) => ({
    name: `namespace::function_${i}`,
    kind: 'native' as const,
    address: BigInt(0x400000 + i * 64),
    module: 'app',
    resolved: true,
  }));
  return {
    startUnixNs: BigInt(k) * 10_000_000_000n,
    endUnixNs: BigInt(k + 1) * 10_000_000_000n,
    periodNs: 10_101_010n,
    process: { pid: 1000 + (k % 10), name: 'app' },
    // 99 Hz × 10 s × 2 threads, 50 distinct stacks.
    samples: Array.from({ length: 1980 }, (_, i) => ({
      timeUnixNs: BigInt(k) * 10_000_000_000n + BigInt(i) * 5_000_000n,
      timeMonoNs: 0n,
      pid: 1000 + (k % 10),
      tid: 1000 + (i % 2),
      cpu: i % 2,
      threadName: 'app',
      processName: 'app',
      frames: frames.slice(i % 50 < 40 ? i % 40 : 0),
    })),
  };
}

function pin(pid: number, cpu: number): boolean {
  try {
    execFileSync('taskset', ['-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function receiverMain(): Promise<void> {
  const noop = async () => {};
  const sink: OtlpSink = { ingestTraces: noop, ingestMetrics: noop, ingestLogs: noop, ingestProfiles: noop };
  const r = await startOtlpReceiver({ port: 0, sink });
  console.log(`PORT ${r.port}`);
}

async function startReceiverProcess(): Promise<{ port: number; kill(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--receiver'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => l.startsWith('PORT ') && resolve(Number(l.slice(5))));
    child.on('exit', (c) => reject(new Error(`receiver exited ${c}`)));
  });
  if (cpus().length > 1) pin(child.pid!, 1);
  return { port, kill: () => child.kill() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

async function spansThroughput(port: number, total: number, batch: number): Promise<{ perSec: number; perCpuSec: number; bytes: number }> {
  const cfg = resolveExporterConfig(
    { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` },
    { traces: { maxQueueSize: 20_000, maxExportBatchSize: batch, scheduledDelayMs: 50 } },
  );
  const ex = createOtlpExporter(cfg);
  const pre = Array.from({ length: total }, (_, i) => span(i));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < total; i += 1000) {
    while (ex.stats().traces.queueDepth > 15_000) await sleep(1);
    ex.exportSpans(pre.slice(i, i + 1000));
  }
  await ex.forceFlush();
  const s = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(process.cpuUsage(c0));
  const st = ex.stats().traces;
  await ex.shutdown(1000);
  if (st.exported !== total) throw new Error(`exported ${st.exported} of ${total}`);
  return { perSec: total / s, perCpuSec: total / cpu, bytes: st.bytesSent };
}

function encodeOnly(total: number, batch: number): number {
  const pre = Array.from({ length: total }, (_, i) => span(i));
  const t0 = performance.now();
  for (let i = 0; i < total; i += batch) encodeRequest('traces', spansToOtlp(pre.slice(i, i + batch)).request);
  return total / ((performance.now() - t0) / 1000);
}

async function profilesThroughput(port: number, windows: number): Promise<{ windowsPerSec: number; bytesPerSec: number; bytesPerCpuSec: number }> {
  const cfg = resolveExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` }, { profiles: { maxQueueSize: 1000, maxExportBatchSize: 10 } });
  const ex = createOtlpExporter(cfg);
  const pre = Array.from({ length: windows }, (_, k) => profileWindow(k));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  ex.exportProfiles(pre);
  await ex.forceFlush();
  const s = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(process.cpuUsage(c0));
  const st = ex.stats().profiles;
  await ex.shutdown(1000);
  return { windowsPerSec: st.exported / s, bytesPerSec: st.bytesSent / s, bytesPerCpuSec: st.bytesSent / cpu };
}

/** control = true: the same producer with an exporter that discards everything (the peer/baseline run). */
async function outageRss(seconds: number, control = false): Promise<void> {
  const net = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const real = createOtlpExporter(resolveExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` }), { log: () => {} });
  const discard: OtlpExporter = { ...real, exportSpans() {}, exportLogs() {}, exportProfiles() {}, exportMetrics() {} };
  const ex = control ? discard : real;
  const gc = (await import('node:vm')).runInNewContext('gc') as () => void;
  gc();
  // Baseline before the outage's data exists: growth includes filling the queues, the strict reading.
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed;
  let heapMax = 0;
  const started = Date.now();
  let rssMax = 0;
  // Steady state: after 15 s the queues are full and the code paths are compiled; growth from
  // there is what an outage costs over time (the start-to-peak figure also counts one-time costs).
  const warmupMs = Math.min(15_000, seconds * 250);
  let rssWarm = 0;
  let rssMaxAfterWarm = 0;
  const series: string[] = [];
  let nextSampleMs = 0;
  let i = 0;
  let k = 0;
  // Steady load of a busy node: 2000 spans/s, 200 log lines/s, 1 profile window/s (10 processes × 10 s).
  while (Date.now() - started < seconds * 1000) {
    ex.exportSpans(Array.from({ length: 200 }, () => span(i++)));
    ex.exportLogs(Array.from({ length: 20 }, (_, j) => ({ timeUnixNs: 1n, severityNumber: 9, body: `line ${j}`, attributes: {}, resource })));
    if (i % 2000 === 0) ex.exportProfiles([profileWindow(k++)]);
    await sleep(100);
    const rssNow = process.memoryUsage().rss;
    rssMax = Math.max(rssMax, rssNow);
    const elapsedMs = Date.now() - started;
    if (elapsedMs >= warmupMs) {
      if (rssWarm === 0) rssWarm = rssNow;
      rssMaxAfterWarm = Math.max(rssMaxAfterWarm, rssNow);
    }
    if (elapsedMs >= nextSampleMs) {
      series.push(`${Math.round(elapsedMs / 1000)}s:${(rssNow / 1048576).toFixed(0)}`);
      nextSampleMs += Math.max(1000, (seconds * 1000) / 15);
    }
    if (i % 20_000 === 0) {
      gc();
      heapMax = Math.max(heapMax, process.memoryUsage().heapUsed);
    }
  }
  const st = ex.stats();
  const mem = process.memoryUsage();
  const mib = (n: number) => (n / 1048576).toFixed(1);
  console.log(
    `  RSS MiB over time: ${series.join(' ')}; after warm-up (${warmupMs / 1000} s): ${(rssWarm / 1048576).toFixed(1)} → peak ${(rssMaxAfterWarm / 1048576).toFixed(1)}, growth ${((rssMaxAfterWarm - rssWarm) / 1048576).toFixed(1)} MiB`,
  );
  console.log(
    `  at end: rss ${mib(mem.rss)} heapTotal ${mib(mem.heapTotal)} heapUsed ${mib(mem.heapUsed)} external ${mib(mem.external)} arrayBuffers ${mib(mem.arrayBuffers)} MiB`,
  );
  const t0 = Date.now();
  await ex.shutdown(2000);
  console.log(
    `${control ? 'control (same producer, data discarded)' : 'exporter, receiver down'} ${seconds} s: RSS at start ${(rss0 / 1048576).toFixed(1)} MiB, peak ${(rssMax / 1048576).toFixed(1)} MiB, ` +
      `growth ${((rssMax - rss0) / 1048576).toFixed(1)} MiB (target ≤ 20); live heap growth after GC ${((heapMax - heap0) / 1048576).toFixed(1)} MiB; dropped spans ${st.traces.dropped}, windows ${st.profiles.dropped}; ` +
      `retries ${st.traces.retries + st.profiles.retries + st.logs.retries}; shutdown ${Date.now() - t0} ms`,
  );
}

async function main(): Promise<void> {
  if (process.argv.includes('--receiver')) return receiverMain();
  if (process.argv.includes('--outage')) return outageRss(Number(process.env['OTLP_BENCH_OUTAGE_S'] ?? 300), process.argv.includes('--control'));
  console.log(
    `load average ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${cpus().length} cores (wall figures shrink under contention; CPU-second figures less so)`,
  );
  const pinned = pin(process.pid, 0);
  const rx = await startReceiverProcess();
  try {
    console.log(`exporter pinned to cpu 0: ${pinned}; receiver in its own process on cpu 1`);
    await spansThroughput(rx.port, 20_000, 512); // warm-up (JIT, connection)
    for (const batch of [512, 2048]) {
      const r = await spansThroughput(rx.port, 200_000, batch);
      const enc = encodeOnly(100_000, batch);
      console.log(
        `spans, batch ${batch}: ${Math.round(r.perSec)} spans/s wall, ${Math.round(r.perCpuSec)} spans per exporter CPU-second (target ≥ 50000/s on one core), ${(r.bytes / 200_000).toFixed(0)} B/span; ` +
          `encode alone ${Math.round(enc)} spans/s → transport keeps ${((r.perSec / enc) * 100).toFixed(0)} % of encode speed`,
      );
    }
    const p = await profilesThroughput(rx.port, 100);
    console.log(
      `profiles: ${p.windowsPerSec.toFixed(1)} windows/s (1980 samples each), ${(p.bytesPerSec / 1048576).toFixed(2)} MiB/s wall, ` +
        `${(p.bytesPerCpuSec / 1048576).toFixed(2)} MiB per exporter CPU-second of OTLP profile bytes`,
    );
  } finally {
    rx.kill();
  }
  // The outage runs in fresh processes so the heap of the throughput runs does not hide its growth,
  // side by side with a control producing the same data into nothing: V8 sizes its heap to the
  // allocation rate, so RSS growth minus the control's is what the exporter itself holds.
  const run = (extra: string[]) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--outage', ...extra], { stdio: 'inherit' });
    return new Promise((r) => child.on('exit', r));
  };
  if (Number(process.env['OTLP_BENCH_OUTAGE_S'] ?? 300) > 0) await Promise.all([run([]), run(['--control'])]);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
