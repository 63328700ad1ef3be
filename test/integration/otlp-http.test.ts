/**
 * OTLP/HTTP over real sockets on loopback: hotspan's exporter (protocol chosen by env) → the
 * embedded receiver's HTTP listener, or a raw node:http server that records what arrived and can
 * throttle. Also the receiver's defences: size cap after decompression, decode budget, bearer token.
 * Needs no privileges; runs everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import {
  createOtlpExporter,
  decodeRequest,
  encodeRequest,
  resolveExporterConfig,
  spansToOtlp,
  startOtlpReceiver,
  validateProfilesData,
  type ExportProfilesServiceRequestObject,
  type OtlpSink,
  type SpanRecord,
} from '../../src/otlp/index.js';
import type { ProfileWindow } from '../../src/profiling/types.js';
import { collectorProfileErrors, pyroscopeIngestErrors } from '../support/consumer-rules.js';

const T0 = 1_700_000_000_000_000_000n;
const resource = { 'service.name': 'checkout', 'process.pid': 77 };
const fast = { backoff: { initialBackoffMs: 50, maxBackoffMs: 200 }, log: () => {} };

function spans(n: number): SpanRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    traceId: (i + 1).toString(16).padStart(32, '0'),
    spanId: (i + 1).toString(16).padStart(16, 'a'),
    name: 'GET',
    kind: 2 as const,
    startUnixNs: T0 + BigInt(i) * 1000n,
    endUnixNs: T0 + BigInt(i) * 1000n + 250_000n,
    attributes: { 'http.request.method': 'GET', 'url.scheme': 'http', 'url.path': `/item/${i}` },
    statusCode: 0,
    statusMessage: '',
    resource,
  }));
}

function profileWindow(): ProfileWindow {
  const f = (name: string, address: bigint) => ({ name, kind: 'native' as const, address, module: 'app', resolved: true });
  const stacks = [
    [f('leaf', 0x10n), f('main', 0x20n)],
    [f('other', 0x30n), f('main', 0x20n)],
  ];
  return {
    startUnixNs: T0,
    endUnixNs: T0 + 10_000_000_000n,
    periodNs: 10_000_000n,
    process: { pid: 77, name: 'app' },
    samples: Array.from({ length: 30 }, (_, i) => ({
      timeUnixNs: T0 + BigInt(i) * 100_000_000n,
      timeMonoNs: 0n,
      pid: 77,
      tid: 78,
      cpu: 0,
      threadName: 'app',
      processName: 'app',
      frames: stacks[i % 3 === 0 ? 1 : 0]!,
    })),
  };
}

function recordingSink() {
  const got: Record<string, any[]> = { traces: [], metrics: [], logs: [], profiles: [] };
  const sink: OtlpSink = {
    ingestTraces: async (r) => void got.traces!.push(r),
    ingestMetrics: async (r) => void got.metrics!.push(r),
    ingestLogs: async (r) => void got.logs!.push(r),
    ingestProfiles: async (r) => void got.profiles!.push(r),
  };
  return { got, sink };
}

interface Hit {
  path: string;
  headers: http.IncomingHttpHeaders;
  wireBytes: number;
  body: Buffer;
  atMs: number;
}

/** A raw OTLP/HTTP server: records each request; `answer` picks the status and headers per call. */
async function startRawServer(answer: (n: number) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 })) {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      hits.push({ path: req.url!, headers: req.headers, wireBytes: raw.length, body, atMs: Date.now() });
      const a = answer(hits.length);
      res.writeHead(a.status, { 'content-type': 'application/x-protobuf', ...a.headers });
      res.end();
    });
  });
  const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
  return { port, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function post(
  port: number,
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('OTLP/HTTP exporter → embedded receiver', () => {
  const { got, sink } = recordingSink();
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  beforeAll(async () => {
    receiver = await startOtlpReceiver({ port: 0, httpPort: 0, sink });
  });
  afterAll(() => receiver.close());

  it('delivers all four signals, selected by OTEL_EXPORTER_OTLP_PROTOCOL, gzip on', async () => {
    const cfg = resolveExporterConfig({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.httpPort}`,
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    });
    const exporter = createOtlpExporter(cfg, fast);
    const sent = spans(20);
    exporter.exportSpans(sent);
    exporter.exportMetrics([{ name: 'hotspan.samples', kind: 'sum', value: 5, isInt: true, timeUnixNs: T0 + 5n, startUnixNs: T0, attributes: {}, resource }]);
    exporter.exportLogs([{ timeUnixNs: T0 + 1n, severityNumber: 9, body: 'ready', attributes: {}, resource }]);
    exporter.exportProfiles([profileWindow()]);
    await exporter.forceFlush();
    await exporter.shutdown(1000);
    expect(receiver.stats().requests).toEqual({ traces: 1, metrics: 1, logs: 1, profiles: 1 });
    expect(got.traces[0]).toEqual(decodeRequest('traces', encodeRequest('traces', spansToOtlp(sent).request)));
    const p = got.profiles[0] as ExportProfilesServiceRequestObject;
    expect(validateProfilesData(p)).toEqual([]);
    expect(pyroscopeIngestErrors(p)).toEqual([]);
    expect(collectorProfileErrors(p)).toEqual([]);
    expect(exporter.stats().traces).toMatchObject({ exported: 20, dropped: 0 });
  });
});

describe('OTLP/HTTP exporter against a raw server', () => {
  it('POSTs binary protobuf to the standard paths, gzip when asked (smaller on the wire), with headers', async () => {
    const s = await startRawServer();
    try {
      for (const compression of ['gzip', 'none']) {
        const exporter = createOtlpExporter(
          resolveExporterConfig({
            OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
            OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${s.port}/gw`,
            OTEL_EXPORTER_OTLP_COMPRESSION: compression,
            OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=t1',
          }),
          fast,
        );
        exporter.exportSpans(spans(200));
        exporter.exportLogs([{ timeUnixNs: T0, severityNumber: 9, body: 'x', attributes: {}, resource }]);
        exporter.exportMetrics([{ name: 'm', kind: 'gauge', value: 1, timeUnixNs: T0, attributes: {}, resource }]);
        exporter.exportProfiles([profileWindow()]);
        await exporter.forceFlush();
        await exporter.shutdown(1000);
      }
      const paths = s.hits.map((h) => h.path).sort();
      expect(new Set(paths)).toEqual(new Set(['/gw/v1/traces', '/gw/v1/metrics', '/gw/v1/logs', '/gw/v1development/profiles']));
      for (const h of s.hits) {
        expect(h.headers['content-type']).toBe('application/x-protobuf');
        expect(h.headers['x-tenant']).toBe('t1');
      }
      const traces = s.hits.filter((h) => h.path === '/gw/v1/traces');
      expect(traces.map((h) => h.headers['content-encoding'])).toEqual(['gzip', undefined]);
      // Same decoded body, fewer bytes on the wire with gzip.
      expect(traces[0]!.body.equals(traces[1]!.body)).toBe(true);
      expect(traces[0]!.wireBytes).toBeLessThan(traces[1]!.wireBytes / 2);
      expect((decodeRequest('traces', traces[0]!.body) as any).resourceSpans[0].scopeSpans[0].spans).toHaveLength(200);
    } finally {
      await s.close();
    }
  });

  it('retries a 503 after the Retry-After the server asked for, then succeeds', async () => {
    const s = await startRawServer((n) => (n === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 }));
    try {
      const exporter = createOtlpExporter(
        resolveExporterConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${s.port}/v1/traces` }),
        fast,
      );
      exporter.exportSpans(spans(3));
      await exporter.forceFlush();
      await exporter.shutdown(1000);
      expect(s.hits).toHaveLength(2);
      // Backoff alone would wait ≤ 75 ms; the gap is the server's 1 s.
      expect(s.hits[1]!.atMs - s.hits[0]!.atMs).toBeGreaterThanOrEqual(950);
      expect(exporter.stats().traces).toMatchObject({ exported: 3, retries: 1, dropped: 0 });
    } finally {
      await s.close();
    }
  });

  it('retries 429/502/504 and drops on a permanent 400 without retrying', async () => {
    const statuses = [429, 502, 504, 200];
    const s = await startRawServer((n) => ({ status: statuses[n - 1] ?? 200 }));
    const bad = await startRawServer(() => ({ status: 400 }));
    try {
      const ok = createOtlpExporter(
        resolveExporterConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${s.port}` }),
        fast,
      );
      ok.exportSpans(spans(2));
      await ok.forceFlush();
      await ok.shutdown(1000);
      expect(s.hits).toHaveLength(4);
      expect(ok.stats().traces).toMatchObject({ exported: 2, retries: 3 });
      const no = createOtlpExporter(
        resolveExporterConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${bad.port}` }),
        fast,
      );
      no.exportSpans(spans(2));
      await no.forceFlush();
      await no.shutdown(1000);
      expect(bad.hits).toHaveLength(1);
      expect(no.stats().traces).toMatchObject({ exported: 0, dropped: 2, retries: 0 });
    } finally {
      await s.close();
      await bad.close();
    }
  });
});

describe('embedded receiver defences', () => {
  const { sink } = recordingSink();
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  beforeAll(async () => {
    receiver = await startOtlpReceiver({ port: 0, httpPort: 0, sink, bearerToken: 's3cret', maxMessageBytes: 1024 * 1024, log: () => {} });
  });
  afterAll(() => receiver.close());
  const auth = { authorization: 'Bearer s3cret' };
  const okBody = Buffer.from(encodeRequest('traces', spansToOtlp(spans(2)).request));

  it('listens on loopback only by default', async () => {
    const r = await startOtlpReceiver({ port: 0, httpPort: 0, sink });
    try {
      const addrs = (await import('node:os')).networkInterfaces();
      const external = Object.values(addrs)
        .flat()
        .find((a) => a && a.family === 'IPv4' && !a.internal);
      if (external) {
        await expect(post(r.httpPort!, '/v1/traces', okBody).then(() => 'loopback-ok')).resolves.toBe('loopback-ok');
        const viaExternal = new Promise((resolve) => {
          const req = http.request({ host: external.address, port: r.httpPort, path: '/v1/traces', method: 'POST' }, () => resolve('connected'));
          req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
          req.end();
        });
        expect(await viaExternal).toBe('ECONNREFUSED');
      }
    } finally {
      await r.close();
    }
  });

  it('refuses missing or wrong bearer tokens on HTTP (401) and gRPC (UNAUTHENTICATED)', async () => {
    expect((await post(receiver.httpPort!, '/v1/traces', okBody)).status).toBe(401);
    expect((await post(receiver.httpPort!, '/v1/traces', okBody, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await post(receiver.httpPort!, '/v1/traces', okBody, auth)).status).toBe(200);
    const client = new grpc.Client(`127.0.0.1:${receiver.port}`, grpc.credentials.createInsecure());
    const call = (md: grpc.Metadata) =>
      new Promise<number>((resolve) =>
        client.makeUnaryRequest(
          '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          (b: Buffer) => b,
          (b: Buffer) => b,
          okBody,
          md,
          (err) => resolve(err?.code ?? 0),
        ),
      );
    const good = new grpc.Metadata();
    good.set('authorization', 'Bearer s3cret');
    expect(await call(new grpc.Metadata())).toBe(grpc.status.UNAUTHENTICATED);
    expect(await call(good)).toBe(grpc.status.OK);
    client.close();
    expect(receiver.stats().unauthenticated).toBe(3);
  });

  it('refuses a gzip bomb by its decompressed size (413), and an oversized body by Content-Length', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(200 * 1024);
    const before = process.memoryUsage().rss;
    expect((await post(receiver.httpPort!, '/v1/traces', bomb, { ...auth, 'content-encoding': 'gzip' })).status).toBe(413);
    expect(process.memoryUsage().rss - before).toBeLessThan(48 * 1024 * 1024);
    expect((await post(receiver.httpPort!, '/v1/traces', Buffer.alloc(2 * 1024 * 1024), auth)).status).toBe(413);
  });

  it('refuses a request that would decode into too many objects before decoding it', async () => {
    // 300k empty ResourceSpans: 2 bytes each on the wire, a default-filled object each after decode.
    const body = Buffer.alloc(600_000);
    for (let i = 0; i < body.length; i += 2) body[i] = 0x0a;
    const before = process.memoryUsage().rss;
    const r = await post(receiver.httpPort!, '/v1/traces', body, auth);
    expect(r.status).toBe(413);
    expect(process.memoryUsage().rss - before).toBeLessThan(48 * 1024 * 1024);
    expect(receiver.stats().tooLarge).toBeGreaterThanOrEqual(3);
  });

  it('answers 404 for unknown paths, 415 for JSON, 400 for garbage, and keeps serving', async () => {
    expect((await post(receiver.httpPort!, '/v1/spans', okBody, auth)).status).toBe(404);
    expect((await post(receiver.httpPort!, '/v1/traces', okBody, { ...auth, 'content-type': 'application/json' })).status).toBe(415);
    expect((await post(receiver.httpPort!, '/v1/traces', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), auth)).status).toBe(400);
    expect((await post(receiver.httpPort!, '/v1/traces', okBody, auth)).status).toBe(200);
  });
});
