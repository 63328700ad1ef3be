/**
 * Issue 13 acceptance through the real daemon: `hotspan agent` on real traffic exports to an
 * OTLP/gRPC and then to an OTLP/HTTP receiver, chosen only by OTEL_EXPORTER_OTLP_PROTOCOL.
 * The receivers are raw (node:http2 framing gRPC by hand, node:http): they see the bytes as sent,
 * so gzip (grpc-encoding + the message's compressed flag; Content-Encoding) and the retry after a
 * 503 / UNAVAILABLE with a server-given delay are observed, not inferred. On what arrives:
 *  - all four signals (logs from a deploy report of deploy_v1 → deploy_v2);
 *  - every profiles request accepted by the Pyroscope-rules and Collector-rules checkers
 *    (test/support/consumer-rules.ts) and by our validator, over several processes, merged stacks;
 *  - the semconv table below on HTTP/1, h2 and gRPC server and client spans (test/fixtures/net
 *    servers and clients in their own processes) and on the duration metrics;
 *  - an exemplar's trace id is a span's trace id, and that span's pyroscope.profile.id finds its
 *    CPU samples (sample links) in the exported profiles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { attributesOf, decodeRequest, validateProfilesData, type ExportProfilesServiceRequestObject, type Signal } from '../../src/otlp/index.js';
import { retryInfoDetails } from '../../src/otlp/retry.js';
import { collectorProfileErrors, pyroscopeIngestErrors } from '../support/consumer-rules.js';
import { driveHttp, firstLine, killAgents, startAgent } from './support/agent.js';
import { buildFixtures, FIXTURES_BIN, requireRoot, ROOT } from './support/env.js';
import { killAll, sleep, startFixture } from './support/procs.js';

const root = requireRoot('hotspan agent exporting to gRPC and HTTP OTLP receivers');
const tmp = mkdtempSync(join(tmpdir(), 'hotspan-otlp-backends-'));
const children: ChildProcess[] = [];
const NET = join(ROOT, 'test/fixtures/net');
/** Server-requested retry delay (RetryInfo / Retry-After). */
const RETRY_AFTER_MS = 1000;

interface Arrival {
  signal: Signal;
  atMs: number;
  gzip: boolean;
  /** The decompressed request bytes (a retry resends the same bytes). */
  raw: Buffer;
  request: any;
}
interface RawReceiver {
  port: number;
  arrivals: Arrival[];
  /** Per signal, when each refused request came (the first of each signal is refused). */
  refusedAtMs: Partial<Record<Signal, number>>;
  /** The decompressed bytes of each signal's refused request. */
  refusedBody: Partial<Record<Signal, Buffer>>;
  close(): Promise<void>;
}

const GRPC_SIGNAL: Record<string, Signal> = {
  '/opentelemetry.proto.collector.trace.v1.TraceService/Export': 'traces',
  '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export': 'metrics',
  '/opentelemetry.proto.collector.logs.v1.LogsService/Export': 'logs',
  '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export': 'profiles',
};
const HTTP_SIGNAL: Record<string, Signal> = { '/v1/traces': 'traces', '/v1/metrics': 'metrics', '/v1/logs': 'logs', '/v1development/profiles': 'profiles' };

/** A gRPC server written against HTTP/2 directly: reads grpc-encoding and the compressed flag itself. */
async function startRawGrpc(): Promise<RawReceiver> {
  const r: RawReceiver = { port: 0, arrivals: [], refusedAtMs: {}, refusedBody: {}, close: async () => {} };
  const server = http2.createServer();
  server.on('sessionError', () => {});
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {}); // a client that gives up (deadline) resets its stream
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const signal = GRPC_SIGNAL[String(headers[':path'])];
      const body = Buffer.concat(chunks);
      if (!signal || body.length < 5) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
        return;
      }
      const compressed = body[0] === 1;
      const msg = body.subarray(5, 5 + body.readUInt32BE(1));
      const raw = compressed ? gunzipSync(msg) : msg;
      if (r.refusedAtMs[signal] === undefined) {
        r.refusedAtMs[signal] = Date.now();
        r.refusedBody[signal] = raw;
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '14',
            'grpc-message': 'warming up',
            'grpc-status-details-bin': retryInfoDetails(14, 'warming up', RETRY_AFTER_MS).toString('base64'),
          },
          { endStream: true },
        );
        return;
      }
      // Length-prefixed message: 1 byte compressed flag, 4 bytes length (read above).
      const gzip = compressed && headers['grpc-encoding'] === 'gzip';
      r.arrivals.push({ signal, atMs: Date.now(), gzip, raw, request: decodeRequest(signal, raw) });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.alloc(5)); // an empty Export…Response
    });
  });
  r.port = await new Promise<number>((res) => server.listen(0, '127.0.0.1', () => res((server.address() as { port: number }).port)));
  r.close = () => new Promise<void>((res) => server.close(() => res()));
  return r;
}

async function startRawHttp(): Promise<RawReceiver> {
  const r: RawReceiver = { port: 0, arrivals: [], refusedAtMs: {}, refusedBody: {}, close: async () => {} };
  const server = http.createServer((req, res) => {
    req.on('error', () => {});
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const signal = HTTP_SIGNAL[req.url ?? ''];
      if (!signal || req.headers['content-type'] !== 'application/x-protobuf') {
        res.writeHead(404).end();
        return;
      }
      const gzip = req.headers['content-encoding'] === 'gzip';
      const wire = Buffer.concat(chunks);
      const raw = gzip ? gunzipSync(wire) : wire;
      if (r.refusedAtMs[signal] === undefined) {
        r.refusedAtMs[signal] = Date.now();
        r.refusedBody[signal] = raw;
        res.writeHead(503, { 'retry-after': String(RETRY_AFTER_MS / 1000) }).end();
        return;
      }
      r.arrivals.push({ signal, atMs: Date.now(), gzip, raw, request: decodeRequest(signal, raw) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  server.keepAliveTimeout = 120_000; // the exporter keeps its connection; no hang-ups mid-test
  r.port = await new Promise<number>((res) => server.listen(0, '127.0.0.1', () => res((server.address() as { port: number }).port)));
  r.close = () =>
    new Promise<void>((res) => {
      server.closeAllConnections();
      server.close(() => res());
    });
  return r;
}

function node(args: string[]): ChildProcess {
  const c = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  return c;
}

/**
 * Semconv v1.44 requirements per span kind / protocol (docs/http/http-spans.md, docs/rpc/grpc.md,
 * docs/http/http-metrics.md): keys that MUST be there, keys that MUST NOT, and the span name.
 */
const SPAN_TABLE = [
  {
    kind: 2,
    proto: 'http1',
    required: ['http.request.method', 'url.path', 'url.scheme', 'http.response.status_code', 'network.protocol.version'],
    forbidden: ['http.route', 'url.full'],
    name: /^(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|CONNECT|TRACE|QUERY|HTTP)$/,
  },
  {
    kind: 3,
    proto: 'http1',
    required: ['http.request.method', 'server.address', 'server.port', 'url.full', 'http.response.status_code'],
    forbidden: ['http.route'],
    name: /^(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|CONNECT|TRACE|QUERY|HTTP)$/,
  },
  {
    kind: 2,
    proto: 'h2',
    required: ['http.request.method', 'url.path', 'url.scheme', 'http.response.status_code', 'network.protocol.version'],
    forbidden: ['http.route', 'url.full'],
    name: /^(GET|POST|HTTP)$/,
  },
  {
    kind: 3,
    proto: 'h2',
    required: ['http.request.method', 'server.address', 'server.port', 'url.full'],
    forbidden: ['http.route'],
    name: /^(GET|POST|HTTP)$/,
  },
  {
    kind: 2,
    proto: 'grpc',
    required: ['rpc.system.name', 'rpc.method', 'rpc.response.status_code', 'url.scheme'],
    forbidden: ['http.route', 'rpc.system', 'rpc.service', 'rpc.grpc.status_code'],
    name: /^hotspan\.test\.Echo\/(Say|Fail)$/,
  },
  {
    kind: 3,
    proto: 'grpc',
    required: ['rpc.system.name', 'rpc.method', 'rpc.response.status_code', 'server.address', 'server.port'],
    forbidden: ['http.route', 'rpc.system', 'rpc.service', 'rpc.grpc.status_code'],
    name: /^hotspan\.test\.Echo\/(Say|Fail)$/,
  },
] as const;
const METRIC_TABLE = [
  { name: 'http.server.request.duration', unit: 's', required: ['http.request.method', 'url.scheme'], forbidden: ['http.route', 'url.path', 'url.full'] },
  {
    name: 'http.client.request.duration',
    unit: 's',
    required: ['http.request.method', 'url.scheme', 'server.address', 'server.port'],
    forbidden: ['http.route', 'url.path', 'url.full'],
  },
] as const;

async function runAgainst(protocol: 'grpc' | 'http/protobuf', seconds: number) {
  const recv = protocol === 'grpc' ? await startRawGrpc() : await startRawHttp();
  const dataDir = join(tmp, `data-${protocol.replace('/', '-')}`);
  const agent = await startAgent(dataDir, ['-F', '99'], {
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${recv.port}`,
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    OTEL_BSP_SCHEDULE_DELAY: '1000',
    HOTSPAN_DEPLOY_SETTLE: '3s',
    HOTSPAN_DEPLOY_KEEP: '1m',
  });
  // At start the agent reads every process on the host (symbols, maps); on a loaded 2-core machine
  // that can take tens of seconds. The workload starts once the agent exports, so the short-lived
  // deploy processes are seen while they live.
  const caughtUp = Date.now() + 120_000;
  while (recv.arrivals.length === 0 && Object.keys(recv.refusedAtMs).length === 0 && Date.now() < caughtUp) await sleep(500);
  const t0 = Date.now();
  // Several processes: the C HTTP server (CPU per request), the net fixtures (h1, h2, gRPC), clients.
  const server = spawn(join(FIXTURES_BIN, 'http_server'), [join(tmp, `server-${Date.now()}.log`)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(server);
  const cPort = await firstLine(server);
  const load = driveHttp(cPort, seconds, ['/slow', '/fast'], 1);
  children.push(load.child);
  const down = JSON.parse(await firstLine(node([join(NET, 'servers.cjs'), 'downstream']))) as { downstream: number };
  const ports = JSON.parse(await firstLine(node([join(NET, 'servers.cjs'), String(down.downstream)]))) as { http1: number; http2: number; grpc: number };
  const client = (mode: string, port: number, arg: unknown) => firstLine(node([join(NET, 'clients.cjs'), mode, String(port), JSON.stringify(arg)]));
  // A deploy (same executable name, new build) gives the log signal: deploy_v1 then deploy_v2.
  // Two paths, not one file replaced: an agent running behind on a loaded host must still read
  // v1's build id from v1's file.
  const checkout = (v: string) => join(tmp, protocol === 'grpc' ? 'g' : 'h', v, 'checkout');
  for (const v of ['v1', 'v2']) {
    mkdirSync(dirname(checkout(v)), { recursive: true });
    copyFileSync(join(FIXTURES_BIN, `deploy_${v}`), checkout(v));
  }
  const deploy = (async () => {
    const run = (v: string, s: number) =>
      new Promise<void>((res) =>
        startFixture(checkout(v), [String(s)], { env: { OTEL_SERVICE_NAME: '', OTEL_RESOURCE_ATTRIBUTES: '' } }).on('exit', () => res()),
      );
    await run('v1', 5);
    await run('v2', 6);
  })();
  while (Date.now() - t0 < seconds * 1000) {
    await client(
      'http1',
      ports.http1,
      Array.from({ length: 6 }, (_, i) => [i % 2 ? 'POST' : 'GET', i === 0 ? `/nested/${i}` : `/items/${i}`, null]),
    );
    await client('h2', ports.http2, { paths: ['/a/1', '/b/2', '/status/404/c'] });
    await client('grpc', ports.grpc, 4);
    await sleep(1500);
  }
  await load.sent;
  await deploy;
  // The deploy report (the log signal) comes once v2 has settled, then its log's export tick. On a
  // loaded 2-core host the agent can run tens of seconds behind: wait (bounded) for every signal
  // to have arrived rather than for a fixed time.
  const deadline = Date.now() + 90_000;
  const allArrived = () => (['traces', 'metrics', 'logs', 'profiles'] as const).every((s) => recv.arrivals.some((a) => a.signal === s));
  while (Date.now() < deadline && !allArrived()) await sleep(500);
  console.log(`${protocol}: all four signals ${allArrived() ? 'arrived' : 'NOT arrived'} ${((Date.now() - t0) / 1000).toFixed(0)} s after start`);
  console.log(
    `${protocol}: arrivals (s after start): ${recv.arrivals.map((a) => `${a.signal[0]}${((a.atMs - t0) / 1000).toFixed(0)}`).join(' ')}; refused ${JSON.stringify(Object.fromEntries(Object.entries(recv.refusedAtMs).map(([k, v]) => [k, ((v! - t0) / 1000).toFixed(1)])))}`,
  );
  const stopped = await agent.stop('SIGTERM');
  // Exit code and stop time are judged by the lifecycle tests; on a loaded host the flush can
  // overrun the agent's 10 s budget, which is not what this test is about.
  console.log(`${protocol}: agent stopped with ${stopped.exitCode} in ${stopped.stopMs} ms`);
  expect(stopped.stderr).not.toMatch(/unhandled|uncaught|TypeError|RangeError/i);
  await recv.close();
  return { recv, ports, stderr: stopped.stderr };
}

const bySignal = (r: RawReceiver, s: Signal) => r.arrivals.filter((a) => a.signal === s);

function spansOf(r: RawReceiver) {
  return bySignal(r, 'traces').flatMap((a) =>
    a.request.resourceSpans.flatMap((rs: any) =>
      rs.scopeSpans.flatMap((ss: any) =>
        ss.spans.map((s: any) => ({
          traceId: s.traceId.toString('hex'),
          spanId: s.spanId.toString('hex'),
          name: s.name,
          kind: s.kind,
          attributes: attributesOf(s.attributes),
          resource: attributesOf(rs.resource?.attributes ?? []),
        })),
      ),
    ),
  );
}

function checkAll(label: string, recv: RawReceiver, ports: { http1: number; http2: number; grpc: number }) {
  // All four signals, every request gzip, and the first of each refused then retried after the server's delay.
  const arrivedGzipRetried = (s: Signal) => {
    const got = bySignal(recv, s);
    expect(got.length, `${label}: no ${s} arrived`).toBeGreaterThan(0);
    expect(
      got.every((a) => a.gzip),
      `${label}: ${s} not gzip`,
    ).toBe(true);
    expect(recv.refusedAtMs[s], `${label}: ${s} never refused`).toBeDefined();
    // The refused request itself came again (same bytes), no sooner than the server asked.
    // (Other batches may arrive meanwhile: up to 2 exports are in flight per signal.)
    const retry = got.find((a) => a.raw.equals(recv.refusedBody[s]!));
    expect(retry, `${label}: the refused ${s} request never came again`).toBeDefined();
    expect(retry!.atMs - recv.refusedAtMs[s]!, `${label}: ${s} retried before the server's delay`).toBeGreaterThanOrEqual(RETRY_AFTER_MS - 50);
  };
  for (const s of ['traces', 'metrics', 'profiles'] as const) arrivedGzipRetried(s);

  // Profiles: 100% accepted by both consumers' rules and ours.
  const profileReqs = bySignal(recv, 'profiles').map((a) => a.request as ExportProfilesServiceRequestObject);
  const rejected = profileReqs.map((p) => [...pyroscopeIngestErrors(p), ...collectorProfileErrors(p), ...validateProfilesData(p)]).filter((e) => e.length);
  const pids = new Set(profileReqs.flatMap((p) => p.resourceProfiles.map((rp) => attributesOf(rp.resource?.attributes ?? [])['process.pid'])));
  const merged = profileReqs.some((p) =>
    p.resourceProfiles.some((rp) => rp.scopeProfiles.some((sp) => sp.profiles.some((pr) => pr.samples.some((s) => s.timestampsUnixNano.length > 1)))),
  );
  console.log(`${label}: ${profileReqs.length} profile requests, ${pids.size} processes, ${rejected.length} rejected`);
  expect(rejected.slice(0, 3)).toEqual([]);
  expect(pids.size).toBeGreaterThanOrEqual(3);
  expect(merged).toBe(true);

  // Semconv table on real spans.
  const spans = spansOf(recv);
  const protoOf = (s: ReturnType<typeof spansOf>[number]) => {
    const port = s.attributes['server.port'];
    return port === ports.grpc ? 'grpc' : port === ports.http2 ? 'h2' : port === ports.http1 ? 'http1' : undefined;
  };
  for (const row of SPAN_TABLE) {
    const matching = spans.filter((s) => s.kind === row.kind && protoOf(s) === row.proto);
    expect(matching.length, `${label}: no ${row.proto} spans of kind ${row.kind}`).toBeGreaterThan(0);
    for (const s of matching) {
      for (const k of row.required) expect(s.attributes, `${label} ${row.proto} kind ${row.kind} lacks ${k}`).toHaveProperty([k]);
      for (const k of row.forbidden) expect(s.attributes, `${label} ${row.proto} kind ${row.kind} carries ${k}`).not.toHaveProperty([k]);
      expect(s.name).toMatch(row.name);
      if (typeof s.attributes['url.path'] === 'string') expect(s.attributes['url.path']).not.toContain('?');
      expect(s.resource['service.name']).toBeTruthy();
    }
  }

  // Duration metrics: the table, and the exemplar → span → profile chain.
  const points = bySignal(recv, 'metrics').flatMap((a) =>
    a.request.resourceMetrics.flatMap((rm: any) =>
      rm.scopeMetrics.flatMap((sm: any) => sm.metrics.flatMap((m: any) => (m.histogram?.dataPoints ?? []).map((p: any) => ({ m, p })))),
    ),
  );
  for (const row of METRIC_TABLE) {
    const mine = points.filter((x: any) => x.m.name === row.name);
    expect(mine.length, `${label}: no ${row.name}`).toBeGreaterThan(0);
    for (const { m, p } of mine) {
      expect(m.unit).toBe(row.unit);
      const a = attributesOf(p.attributes);
      for (const k of row.required) expect(a, `${row.name} lacks ${k}`).toHaveProperty([k]);
      for (const k of row.forbidden) expect(a, `${row.name} carries ${k}`).not.toHaveProperty([k]);
    }
  }
  const byTrace = new Map(spans.map((s) => [s.traceId, s]));
  const exemplars = points.flatMap((x: any) => x.p.exemplars ?? []);
  expect(exemplars.length, `${label}: no exemplars`).toBeGreaterThan(0);
  const linked = exemplars.filter((e: any) => byTrace.get(e.traceId.toString('hex'))?.spanId === e.spanId.toString('hex'));
  expect(linked.length, `${label}: no exemplar names an exported span`).toBeGreaterThan(0);
  const sampleSpanIds = new Set(
    profileReqs.flatMap((p) => {
      const links = p.dictionary!.linkTable;
      return p.resourceProfiles.flatMap((rp) =>
        rp.scopeProfiles.flatMap((sp) =>
          sp.profiles.flatMap((pr) => pr.samples.filter((s) => s.linkIndex).map((s) => links[s.linkIndex]!.spanId.toString('hex'))),
        ),
      );
    }),
  );
  const chained = linked.filter((e: any) => {
    const span = byTrace.get(e.traceId.toString('hex'))!;
    const pid = span.attributes['pyroscope.profile.id'];
    return typeof pid === 'string' && sampleSpanIds.has(pid);
  });
  console.log(`${label}: ${spans.length} spans, ${exemplars.length} exemplars, ${linked.length} name a span, ${chained.length} lead to its CPU samples`);
  expect(chained.length, `${label}: no exemplar → span → profile chain`).toBeGreaterThan(0);
  // Logs last: they come from the deploy report, the slowest signal to appear.
  arrivedGzipRetried('logs');
}

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  killAll();
  await killAgents();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.runIf(root)('hotspan agent → OTLP backends', () => {
  it('OTLP/gRPC: four signals, gzip, RetryInfo honoured, consumer rules, semconv, exemplar → span → profile', async () => {
    const { recv, ports } = await runAgainst('grpc', Number(process.env.E2E_GRPC_S ?? 30));
    checkAll('grpc', recv, ports);
  }, 300_000);

  it('OTLP/HTTP: the same, selected by OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, Retry-After honoured', async () => {
    const { recv, ports } = await runAgainst('http/protobuf', 15);
    checkAll('http', recv, ports);
  }, 300_000);
});
